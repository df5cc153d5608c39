//! reelflow as a library: start the simulator, list a few looks, create a
//! video with an Idempotency-Key and follow it to completion.
//!
//! `cargo run --example library`

use std::time::Duration;

use reelflow::heygen::wire::{AvatarVideo, CreateVideoRequest};
use reelflow::heygen::{Client, ClientConfig, Credential, Secret};
use reelflow::integration::{self, WaitOutcome, WaitPolicy};
use reelflow::sim::{SimConfig, Simulator};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Simulator::start(
        SimConfig { render_secs: 1.0, ..SimConfig::default() },
        "127.0.0.1:0".parse()?,
    )
    .await?;
    let client = Client::new(ClientConfig::new(
        sim.base_url(),
        Credential::ApiKey(Secret::new("example-key")),
    ))?;

    let looks = integration::list_avatars(&client).await?;
    for look in looks.iter().take(3) {
        println!("{}  {}  {:?}", look.id, look.avatar_type, look.supported_api_engines);
    }

    let body = CreateVideoRequest::Avatar(AvatarVideo {
        avatar_id: looks[0].id.clone(),
        script: Some("Hello from the reelflow library.".into()),
        voice_id: looks[0].default_voice_id.clone(),
        ..Default::default()
    });
    let created = client.create_video(&body, Some("example-create-1")).await?;
    println!("created {} ({})", created.video_id, created.status);

    let policy = WaitPolicy { first: Duration::from_millis(250), ..WaitPolicy::default() };
    match integration::wait_for_video(&client, &created.video_id, policy, |s| println!("  {s}"))
        .await?
    {
        WaitOutcome::Completed(v) => println!(
            "done: {:.1}s at {}",
            v.duration.unwrap_or(0.0),
            v.video_url.unwrap_or_default()
        ),
        WaitOutcome::Failed(v) => println!("failed: {:?}", v.failure_message),
        WaitOutcome::TimedOut(_) => println!("still rendering"),
    }
    Ok(())
}
