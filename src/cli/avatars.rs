//! `reelflow avatars`: looks (the ids videos use) or avatar groups.

use super::args::{AvatarKindArg, AvatarsArgs, OwnershipArg};
use super::context::Context;
use super::failure::Failure;
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
            "{} avatar groups. Group ids are not avatar ids: `reelflow avatars --group GROUP_ID` lists a group's looks.",
            groups.len()
        ));
        return Ok(exit::SUCCESS);
    }
    let q = LookQuery {
        group_id: args.group.clone(),
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
    let looks = paging::collect_all(q, |q| {
        let client = &client;
        async move { client.list_looks(&q).await }
    })
    .await?;
    if ctx.global.json {
        print_list(&looks, false);
        return Ok(exit::SUCCESS);
    }
    let mut t = Table::new(&["AVATAR ID", "NAME", "TYPE", "ENGINES", "DEFAULT VOICE", "STATUS"]);
    for l in &looks {
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
    Ok(exit::SUCCESS)
}
