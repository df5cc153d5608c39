//! `reelflow voices`.

use super::args::VoicesArgs;
use super::avatars::ownership;
use super::context::Context;
use super::failure::Failure;
use super::output::{Table, note, print_list};
use crate::exit;
use crate::heygen::paging::{self, VoiceQuery};

/// Runs the command.
pub async fn run(ctx: &Context, args: &VoicesArgs) -> Result<u8, Failure> {
    let client = ctx.client(None)?;
    let kinds: Vec<String> = match ownership(args.kind) {
        Some(k) => vec![k],
        None => vec!["public".into(), "private".into()],
    };
    let mut voices = Vec::new();
    for kind in kinds {
        let q = VoiceQuery {
            kind: Some(kind),
            language: args.language.clone(),
            gender: args.gender.clone(),
            engine: args.engine.clone(),
            ..Default::default()
        };
        voices.extend(
            paging::collect_all(q, |q| {
                let client = &client;
                async move { client.list_voices(&q).await }
            })
            .await?,
        );
    }
    if ctx.global.json {
        print_list(&voices, false);
        return Ok(exit::SUCCESS);
    }
    let mut t = Table::new(&["VOICE ID", "NAME", "LANGUAGE", "GENDER", "TYPE", "SSML PAUSES"]);
    for v in &voices {
        t.row(vec![
            v.voice_id.clone(),
            v.name.clone(),
            v.language.clone(),
            v.gender.clone(),
            v.kind.clone(),
            if v.support_pause { "yes" } else { "no" }.into(),
        ]);
    }
    t.print();
    note(format!("{} voices. Use a VOICE ID as `voice_id`.", voices.len()));
    Ok(exit::SUCCESS)
}
