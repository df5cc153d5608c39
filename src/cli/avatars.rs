//! `reelflow avatars`: looks (the ids videos use) or avatar groups.

use super::args::{AvatarKindArg, AvatarsArgs, OwnershipArg};
use super::context::Context;
use super::failure::{Failure, command_line};
use super::output::{Table, note, or_dash, print_list};
use crate::exit;
use crate::heygen::paging::{self, AvatarGroupQuery, LookQuery};

pub(super) fn ownership(o: Option<OwnershipArg>) -> Option<String> {
    o.map(|o| match o {
        OwnershipArg::Public => "public".to_owned(),
        OwnershipArg::Private => "private".to_owned(),
    })
}

/// Runs the command.
pub async fn run(ctx: &Context, args: &AvatarsArgs) -> Result<u8, Failure> {
    let client = ctx.client(None)?;
    if args.groups {
        let q = AvatarGroupQuery { ownership: ownership(args.ownership), ..Default::default() };
        let groups = paging::collect_all(q, |q| {
            let client = &client;
            async move { client.list_avatar_groups(&q).await }
        })
        .await?;
        if ctx.global.json {
            print_list(&groups, false);
            return Ok(exit::SUCCESS);
        }
        let mut t = Table::new(&["GROUP ID", "NAME", "LOOKS", "GENDER", "DEFAULT VOICE", "STATUS"]);
        for g in &groups {
            t.row(vec![
                g.id.clone(),
                g.name.clone(),
                g.looks_count.to_string(),
                or_dash(g.gender.as_deref()),
                or_dash(g.default_voice_id.as_deref()),
                g.status.clone().unwrap_or_else(|| "public".into()),
            ]);
        }
        t.print();
        note(format!(
            "{} avatar groups. Group ids are not avatar ids: `{}` lists a group's looks.",
            groups.len(),
            command_line(&ctx.global, &["avatars", "--group", "GROUP_ID"])
        ));
        return Ok(exit::SUCCESS);
    }
    let looks = list_looks(&client, args, args.group.clone()).await?;
    // `--group Maya` (a name where the id belongs) finds nothing: resolve
    // the name to its group, or say what the ids look like.
    let looks = match &args.group {
        Some(asked) if looks.is_empty() => {
            let groups_cmd = command_line(&ctx.global, &["avatars", "--groups"]);
            let (id, hint) = resolve_group(&client, asked, &groups_cmd).await?;
            match id {
                Some(id) => {
                    note(format!("`{asked}` is the name of group {id}; listing its looks"));
                    list_looks(&client, args, Some(id)).await?
                }
                None => {
                    note(hint);
                    looks
                }
            }
        }
        _ => looks,
    };
    print_looks(ctx, &looks);
    Ok(exit::SUCCESS)
}

/// The looks the flags ask for, in group `group_id`.
async fn list_looks(
    client: &crate::heygen::Client,
    args: &AvatarsArgs,
    group_id: Option<String>,
) -> Result<Vec<crate::heygen::wire::AvatarLook>, Failure> {
    let q = LookQuery {
        group_id,
        avatar_type: args.kind.map(|k| {
            match k {
                AvatarKindArg::StudioAvatar => "studio_avatar",
                AvatarKindArg::DigitalTwin => "digital_twin",
                AvatarKindArg::PhotoAvatar => "photo_avatar",
            }
            .to_owned()
        }),
        ownership: ownership(args.ownership),
        ..Default::default()
    };
    Ok(paging::collect_all(q, |q| async move { client.list_looks(&q).await }).await?)
}

/// The id of the group named `name` (case-insensitive), else a hint listing
/// what a group id looks like and the closest names.
async fn resolve_group(
    client: &crate::heygen::Client,
    name: &str,
    groups_cmd: &str,
) -> Result<(Option<String>, String), Failure> {
    let groups = paging::collect_all(AvatarGroupQuery::default(), |q| async move {
        client.list_avatar_groups(&q).await
    })
    .await?;
    if groups.iter().any(|g| g.id == name) {
        return Ok((None, format!("group {name} has no looks matching these filters")));
    }
    let named: Vec<_> =
        groups.iter().filter(|g| g.name.eq_ignore_ascii_case(name.trim())).collect();
    if let [only] = named.as_slice() {
        return Ok((Some(only.id.clone()), String::new()));
    }
    let mut hint =
        format!("no group has the id `{name}`; --group takes a GROUP ID from `{groups_cmd}`");
    if named.len() > 1 {
        let ids: Vec<&str> = named.iter().map(|g| g.id.as_str()).collect();
        hint.push_str(&format!(" (groups named `{name}`: {})", ids.join(", ")));
    } else if let Some(close) =
        crate::diag::did_you_mean(name, groups.iter().map(|g| g.name.as_str()))
    {
        let id = groups.iter().find(|g| g.name == close).map(|g| g.id.as_str()).unwrap_or_default();
        hint.push_str(&format!(" (did you mean `{close}`, id {id}?)"));
    }
    Ok((None, hint))
}

fn print_looks(ctx: &Context, looks: &[crate::heygen::wire::AvatarLook]) {
    if ctx.global.json {
        print_list(looks, false);
        return;
    }
    let mut t = Table::new(&["AVATAR ID", "NAME", "TYPE", "ENGINES", "DEFAULT VOICE", "STATUS"]);
    for l in looks {
        let engines: Vec<String> = l.engines().iter().map(|e| e.as_str().to_owned()).collect();
        t.row(vec![
            l.id.clone(),
            l.name.clone(),
            l.avatar_type.to_string(),
            if engines.is_empty() { "-".into() } else { engines.join(",") },
            or_dash(l.default_voice_id.as_deref()),
            l.status.clone().unwrap_or_else(|| "ready".into()),
        ]);
    }
    t.print();
    note(format!(
        "{} looks. Use an AVATAR ID as `avatar_id`; ENGINES lists what `engine.type` may be.",
        looks.len()
    ));
}
