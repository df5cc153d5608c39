//! `reelflow videos create|get|list|delete`.

use std::io::Read;

use serde_json::Value;

use super::args::{CreateArgs, PagingArgs, VideosCommand};
use super::context::Context;
use super::failure::Failure;
use super::output::{Table, note, or_dash, print_data, print_list, unix_time};
use crate::exit;
use crate::heygen::paging::{self, VideoListQuery};
use crate::heygen::wire::VideoDetail;
use crate::integration::{
    self, CreateOutcome, CreateVideoInput, OffsetParams, WaitOutcome, WaitPolicy,
};

/// Runs the command.
pub async fn run(ctx: &Context, cmd: &VideosCommand) -> Result<u8, Failure> {
    match cmd {
        VideosCommand::Create(args) => create(ctx, args).await,
        VideosCommand::Get { video_id, output } => {
            let client = ctx.client(None)?;
            let v = integration::get_video(&client, video_id).await?;
            if ctx.global.json {
                print_data(&v);
            } else {
                print_detail(&v);
            }
            if let Some(out) = output {
                save(&client, &v, out).await?;
            }
            Ok(exit::SUCCESS)
        }
        VideosCommand::List { paging } => list(ctx, paging).await,
        VideosCommand::Delete { video_id } => {
            let d = ctx.client(None)?.delete_video(video_id).await?;
            if ctx.global.json {
                print_data(&d);
            } else {
                println!("deleted {}", d.id);
            }
            Ok(exit::SUCCESS)
        }
    }
}

fn read_body(args: &CreateArgs) -> Result<Value, Failure> {
    let (name, text) = if args.body.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        ("<stdin>".to_owned(), s)
    } else {
        let text = std::fs::read_to_string(&args.body).map_err(|e| {
            Failure::new(
                exit::INVALID_INPUT,
                "unreadable_body",
                format!("cannot read {}: {e}", args.body.display()),
            )
        })?;
        (args.body.display().to_string(), text)
    };
    serde_json::from_str(&text).map_err(|e| {
        let what = e.to_string();
        let what = what.split(" at line ").next().unwrap_or(&what).to_owned();
        Failure::new(exit::INVALID_INPUT, "invalid_json", format!("{name}:{}:{}: {what}", e.line(), e.column()))
            .hint("the body must be one JSON object: a v3 POST /v3/videos body, or {\"video_inputs\": [...]}")
    })
}

async fn create(ctx: &Context, args: &CreateArgs) -> Result<u8, Failure> {
    let value = read_body(args)?;
    let input = CreateVideoInput::from_json(value).map_err(|e| {
        let f: Failure = e.into();
        let body = args.body.display().to_string();
        f.hint(format!(
            "fix the field in {}",
            if body == "-" { "the body read from stdin" } else { &body }
        ))
    })?;
    let client = ctx.client(None)?;
    // A fresh key per invocation makes this command's own retries safe.
    let key = args.idempotency_key.clone().unwrap_or_else(|| {
        let bytes: [u8; 16] = rand::random();
        format!("reelflow-cli-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
    });
    let outcome = integration::create_video(&client, input, args.dry_run, Some(&key)).await?;
    let (video, notes) = match outcome {
        CreateOutcome::DryRun(dry) => {
            for n in &dry.notes {
                note(format!("note: {n}"));
            }
            if ctx.global.json {
                print_data(&dry);
            } else {
                println!("dry run: valid, nothing was created or charged");
                println!(
                    "  estimated length: {:.1}s, cost: ${:.2}",
                    dry.estimated_seconds, dry.estimated_cost_usd
                );
                println!("  request body:");
                println!("{}", serde_json::to_string_pretty(&dry.request).unwrap_or_default());
            }
            return Ok(exit::SUCCESS);
        }
        CreateOutcome::Created { video, notes } => (video, notes),
    };
    for n in &notes {
        note(format!("note: {n}"));
    }
    if !args.wait {
        if ctx.global.json {
            print_data(&video);
        } else {
            println!("{}  {}", video.video_id, video.status);
            note(format!(
                "follow it with: {}",
                super::failure::command_line(&ctx.global, &["videos", "get", &video.video_id])
            ));
        }
        return Ok(exit::SUCCESS);
    }
    note(format!(
        "created {}; waiting up to {}",
        video.video_id,
        humantime::format_duration(args.timeout)
    ));
    let policy = WaitPolicy { timeout: args.timeout, ..WaitPolicy::default() };
    let outcome = integration::wait_for_video(&client, &video.video_id, policy, |s| {
        note(format!("  status: {s}"))
    })
    .await?;
    let (detail, code) = match outcome {
        WaitOutcome::Completed(d) => (d, exit::SUCCESS),
        WaitOutcome::Failed(d) => (d, exit::JOBS_FAILED),
        WaitOutcome::TimedOut(d) => {
            note(format!(
                "still rendering after {} (not failed); check later with: {}",
                humantime::format_duration(args.timeout),
                super::failure::command_line(&ctx.global, &["videos", "get", &d.id])
            ));
            (d, exit::STILL_RENDERING)
        }
    };
    if ctx.global.json {
        print_data(&detail);
    } else {
        print_detail(&detail);
    }
    if let Some(out) = &args.output
        && code == exit::SUCCESS
    {
        save(&client, &detail, out).await?;
    }
    Ok(code)
}

/// Downloads a finished video to `out` (temp file + rename; an expired
/// link is fetched fresh once).
async fn save(
    client: &crate::heygen::Client,
    v: &VideoDetail,
    out: &std::path::Path,
) -> Result<(), Failure> {
    let Some(url) = v.video_url.clone() else {
        return Err(Failure::new(
            exit::STILL_RENDERING,
            "no_video_yet",
            format!("video {} has no file to download yet (status {})", v.id, v.status),
        )
        .hint(format!("wait for it: reelflow videos get {} once it is completed", v.id)));
    };
    let id = v.id.clone();
    let done = crate::engine::download::download(client, url, out, || async {
        client.get_video(&id).await.map(|d| d.video_url)
    })
    .await
    .map_err(|e| match e {
        crate::engine::download::DownloadError::Api(api) => Failure::from(api),
        other => Failure::new(exit::FAILURE, "download_failed", other.to_string()),
    })?;
    note(format!("saved {} ({} bytes)", done.path.display(), done.bytes));
    Ok(())
}

async fn list(ctx: &Context, p: &PagingArgs) -> Result<u8, Failure> {
    let client = ctx.client(None)?;
    let (items, has_more) = if p.all {
        let all = paging::collect_all(VideoListQuery::default(), |q| {
            let client = &client;
            async move { client.list_videos(&q).await }
        })
        .await?;
        (all, false)
    } else {
        let w = integration::list_videos(
            &client,
            OffsetParams { limit: Some(p.limit), offset: Some(p.offset) },
        )
        .await?;
        (w.items, w.has_more)
    };
    if ctx.global.json {
        print_list(&items, has_more);
        return Ok(exit::SUCCESS);
    }
    let mut t = Table::new(&["VIDEO ID", "STATUS", "TITLE", "DURATION", "CREATED"]);
    for v in &items {
        t.row(vec![
            v.id.clone(),
            v.status.to_string(),
            or_dash(v.title.as_deref()),
            v.duration.map(|d| format!("{d:.1}s")).unwrap_or_else(|| "-".into()),
            unix_time(v.created_at),
        ]);
    }
    t.print();
    if has_more {
        note(format!("more videos follow: --offset {} or --all", p.offset + items.len() as i64));
    }
    Ok(exit::SUCCESS)
}

fn print_detail(v: &VideoDetail) {
    let mut t = Table::new(&["FIELD", "VALUE"]);
    t.row(vec!["id".into(), v.id.clone()]);
    t.row(vec!["status".into(), v.status.to_string()]);
    t.row(vec!["title".into(), or_dash(v.title.as_deref())]);
    t.row(vec!["created".into(), unix_time(v.created_at)]);
    t.row(vec!["completed".into(), unix_time(v.completed_at)]);
    t.row(vec![
        "duration".into(),
        v.duration.map(|d| format!("{d:.2}s")).unwrap_or_else(|| "-".into()),
    ]);
    if let Some(code) = &v.failure_code {
        t.row(vec!["failure".into(), format!("{code}: {}", or_dash(v.failure_message.as_deref()))]);
    }
    // Presigned URLs are long; print them whole below the table.
    t.print();
    for (name, url) in [
        ("video_url", &v.video_url),
        ("captioned_video_url", &v.captioned_video_url),
        ("subtitle_url", &v.subtitle_url),
        ("thumbnail_url", &v.thumbnail_url),
    ] {
        if let Some(u) = url {
            println!("{name}: {u}");
        }
    }
}
