//! Stopping `rollguard run` mid-rollout: Ctrl-C takes the canary out first
//! and exits 4; kill -9 then a restart on the same ledger resumes at the same
//! step with the same timers and no second weight change (issue 4), or rolls
//! back when the rollout says `onRestart: rollback`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::{
    Bed, Ev, RolloutSpec, baseline_behavior, kinds, ledger_events, load, weights_set,
};

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_mid_rollout_takes_the_canary_out_and_exits_4() {
    let bed = Bed::new(baseline_behavior()).await;
    let spec = RolloutSpec::new(
        "interrupted",
        &[
            "setWeight: 10",
            "analyze: {minDuration: 5m, maxDuration: 10m}",
        ],
    );
    let file = bed.rollout(&spec);
    let rg = bed.rollguard(&["run", "-f", &file.display().to_string()]);
    let addr = rg.proxy_addr().await;
    let traffic = load(addr, 100.0);
    rg.wait_line("canary weight -> 10%").await;
    rg.interrupt().await;
    let done = rg.finish().await;
    traffic.stop();
    assert_eq!(done.code, Some(4), "{}", done.describe());
    assert!(done.stdout.contains("ABORTED"), "{}", done.describe());
    let events = ledger_events(&bed.ledger);
    assert_eq!(
        weights_set(&events),
        vec![10.0, 0.0],
        "{:?}",
        kinds(&events)
    );
    let last = events.last().expect("events");
    assert_eq!(last.kind, "aborted", "{:?}", kinds(&events));
    assert_eq!(last.weight(), Some(0.0));
    assert!(last.rationale.contains("interrupted"), "{}", last.rationale);
}

/// Steps of the resume tests: the fourth step is a 15 s pause at 25%.
const PAUSE_MS: i64 = 15_000;
fn resumable(name: &str, on_restart: &'static str) -> RolloutSpec {
    let mut spec = RolloutSpec::new(
        name,
        &[
            "setWeight: 10",
            "pause: {duration: 1s}",
            "setWeight: 25",
            "pause: {duration: 15s}",
            "setWeight: 50",
            "pause: {duration: 1s}",
        ],
    );
    spec.on_restart = on_restart;
    spec
}

/// Runs the rollout until it is inside the 15 s pause at 25%, then kills it
/// with SIGKILL. Returns the wall-clock time of the kill.
async fn crash_in_long_pause(bed: &Bed, file: &str) -> i64 {
    let rg = bed.rollguard(&["run", "-f", file]);
    let addr = rg.proxy_addr().await;
    let traffic = load(addr, 100.0);
    rg.wait_line("step 4/6: pause").await;
    // Let a few windows of evidence be recorded inside the step.
    tokio::time::sleep(Duration::from_secs(3)).await;
    rg.kill9().await;
    traffic.stop();
    wall_ms()
}

fn step_started(events: &[Ev], index: u64) -> Vec<&Ev> {
    events
        .iter()
        .filter(|e| e.kind == "step_started" && e.step_index() == Some(index))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_then_restart_resumes_at_the_same_step_with_the_same_timers() {
    let bed = Bed::new(baseline_behavior()).await;
    let file = bed.rollout(&resumable("resumed", "resume"));
    let file = file.display().to_string();
    let killed_at = crash_in_long_pause(&bed, &file).await;

    let before = ledger_events(&bed.ledger);
    assert_eq!(
        weights_set(&before),
        vec![10.0, 25.0],
        "{:?}",
        kinds(&before)
    );
    assert!(
        !before.iter().any(|e| e.kind == "promoted"),
        "the crash came before the end"
    );
    // Down for a while, so a restarted timer would be visible.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restarted_at = wall_ms();
    let rg = bed.rollguard(&["run", "-f", &file]);
    rg.wait_line("resumed from the ledger").await;
    let addr = rg.proxy_addr().await;
    let traffic = load(addr, 100.0);
    let done = rg.finish().await;
    traffic.stop();
    assert_eq!(done.code, Some(0), "{}", done.describe());

    let events = ledger_events(&bed.ledger);
    let k = kinds(&events);
    assert_eq!(
        events.iter().filter(|e| e.kind == "started").count(),
        1,
        "one run, continued: {k:?}"
    );
    // No second weight change to 25%: the router got it back without a record.
    assert_eq!(weights_set(&events), vec![10.0, 25.0, 50.0, 100.0], "{k:?}");
    assert_eq!(events.last().map(|e| e.kind.as_str()), Some("promoted"));
    // The long pause started once, before the crash, and ended on its
    // original timer: 15 s after it started, not 15 s after the restart.
    let pause = step_started(&events, 3);
    assert_eq!(pause.len(), 1, "{k:?}");
    assert!(pause[0].time_ms < killed_at);
    let fifty = events
        .iter()
        .find(|e| e.kind == "weight_set" && e.weight() == Some(50.0))
        .expect("weight 50 set");
    assert!(
        fifty.time_ms - pause[0].time_ms >= PAUSE_MS,
        "the pause lasted its full duration"
    );
    assert!(
        fifty.time_ms < restarted_at + PAUSE_MS,
        "the pause timer restarted: it ended {} ms after the restart",
        fifty.time_ms - restarted_at
    );
    // The evidence gathered before the crash is kept: the judged canary
    // requests only grow across the restart (a reset would start again near 0).
    let judged: Vec<(i64, u64)> = events
        .iter()
        .filter(|e| e.kind == "observed")
        .filter_map(|e| Some((e.time_ms, e.canary_judged()?)))
        .collect();
    let before_crash = judged.iter().filter(|(t, _)| *t < killed_at).count();
    assert!(
        before_crash > 0 && before_crash < judged.len(),
        "{judged:?}"
    );
    assert!(
        judged.windows(2).all(|w| w[0].1 <= w[1].1),
        "evidence was lost across the restart: {judged:?}"
    );
    // Events after the restart continue the same run's steps.
    let after: Vec<&Ev> = events
        .iter()
        .filter(|e| e.time_ms >= restarted_at)
        .collect();
    assert!(after.iter().all(|e| e.step_index().is_none_or(|i| i >= 3)));
    assert!(
        !step_started(&events, 5).is_empty(),
        "step 6 started after the restart: {k:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_then_restart_rolls_back_when_on_restart_says_so() {
    let bed = Bed::new(baseline_behavior()).await;
    let file = bed.rollout(&resumable("restart-rollback", "rollback"));
    let file = file.display().to_string();
    crash_in_long_pause(&bed, &file).await;
    let rg = bed.rollguard(&["run", "-f", &file, "--output", "json"]);
    let done = rg.finish().await;
    assert_eq!(done.code, Some(3), "{}", done.describe());
    let s = done.json();
    assert_eq!(s["outcome"], "rolled_back");
    assert_eq!(s["resumed"], true);
    let events = ledger_events(&bed.ledger);
    assert_eq!(
        weights_set(&events),
        vec![10.0, 25.0, 0.0],
        "{:?}",
        kinds(&events)
    );
    let last = events.last().expect("events");
    assert_eq!(last.kind, "rolled_back");
    assert!(last.rationale.contains("onRestart"), "{}", last.rationale);
}
