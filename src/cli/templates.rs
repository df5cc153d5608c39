//! `reelflow templates [ID]`.

use super::args::{PagingArgs, TemplatesArgs};
use super::context::Context;
use super::failure::Failure;
use super::output::{Table, note, or_dash, print_data, print_list, unix_time};
use crate::exit;
use crate::heygen::paging::{self, TemplateQuery};
use crate::integration::{self, OffsetParams};

/// Runs the command.
pub async fn run(ctx: &Context, args: &TemplatesArgs) -> Result<u8, Failure> {
    let client = ctx.client(None)?;
    if let Some(id) = &args.template_id {
        let t = client.get_template(id).await.map_err(|e| {
            let not_found = matches!(e.kind(), Some(crate::heygen::ApiErrorKind::NotFound));
            let f = Failure::from(e);
            if not_found {
                f.hint(
                    "check the id; `reelflow templates` lists the templates this account can see",
                )
            } else {
                f
            }
        })?;
        if ctx.global.json {
            print_data(&t);
            return Ok(exit::SUCCESS);
        }
        println!("{}  {}  ({})", t.id, t.name, or_dash(t.aspect_ratio.as_deref()));
        let mut vars = Table::new(&["VARIABLE", "TYPE", "DEFAULT"]);
        for (name, default) in &t.variables {
            let kind = default.get("type").and_then(|v| v.as_str()).unwrap_or("-");
            // The default's most telling field: text, id or URL.
            let shown = ["content", "voice_id", "character_id"]
                .iter()
                .find_map(|k| default.get(*k).and_then(|v| v.as_str()))
                .or_else(|| default.pointer("/asset/url").and_then(|v| v.as_str()))
                .or_else(|| default.pointer("/asset/asset_id").and_then(|v| v.as_str()))
                .map(str::to_owned)
                .unwrap_or_else(|| default.to_string());
            vars.row(vec![name.clone(), kind.into(), shown]);
        }
        println!();
        vars.print();
        println!();
        let mut scenes = Table::new(&["SCENE", "SCRIPT"]);
        for s in &t.scenes {
            scenes.row(vec![s.scene_id.clone(), or_dash(s.script.as_deref())]);
        }
        scenes.print();
        return Ok(exit::SUCCESS);
    }
    let (items, has_more) = list(&client, &args.paging).await?;
    if ctx.global.json {
        print_list(&items, has_more);
        return Ok(exit::SUCCESS);
    }
    let mut t = Table::new(&["TEMPLATE ID", "NAME", "ASPECT", "UPDATED"]);
    for s in &items {
        t.row(vec![
            s.id.clone(),
            s.name.clone(),
            or_dash(s.aspect_ratio.as_deref()),
            unix_time(s.updated_at),
        ]);
    }
    t.print();
    if has_more {
        note(format!(
            "more templates follow: --offset {} or --all",
            args.paging.offset + items.len() as i64
        ));
    }
    Ok(exit::SUCCESS)
}

async fn list(
    client: &crate::heygen::Client,
    paging: &PagingArgs,
) -> Result<(Vec<crate::heygen::wire::TemplateSummary>, bool), Failure> {
    if paging.all {
        let all = paging::collect_all(TemplateQuery::default(), |q| async move {
            client.list_templates(&q).await
        })
        .await?;
        return Ok((all, false));
    }
    let w = integration::list_templates(
        client,
        OffsetParams { limit: Some(paging.limit), offset: Some(paging.offset) },
    )
    .await?;
    Ok((w.items, w.has_more))
}
