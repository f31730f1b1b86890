//! Cold start of each Lambda function next to a hello-world lambda_runtime binary, in one run:
//! the time from spawn to its first `invocation/next` and its peak RSS, under a local Runtime API.
//! Not a test: it prints the tables of docs/benchmarks.md. `infra/bench/coldstart.sh` runs it.

mod functions;
mod proc_status;
mod runtime_api;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use functions::Function;
use runtime_api::{Invocation, Report, RuntimeApi};

const USAGE: &str =
    "usage: coldstart [--runs N] [--dir DIR] [--logs DIR] [--env K=V ...] [BINARY ...]
  --runs N    measured starts per binary after one warm-up start (default 20)
  --dir DIR   where the release binaries are (default: this binary's folder)
  --logs DIR  append each binary's output to DIR/<binary>.log (default: discarded)
  --env K=V   one more environment variable for every binary, to compare set-ups
  BINARY      hello, api, publisher, asset-intake, metrics, reports (default: all)";

/// A function that has not asked for an event by then is reported as failing to start.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Enough for the AWS SDK's retries against the sink (asset intake's answer).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

struct Options {
    runs: usize,
    dir: PathBuf,
    logs: Option<PathBuf>,
    extra_env: Vec<(String, String)>,
    only: Vec<String>,
}

fn options() -> Result<Options, String> {
    let exe = std::env::current_exe().map_err(|e| format!("where am I? {e}"))?;
    let mut options = Options {
        runs: 20,
        dir: exe.parent().map(Path::to_path_buf).unwrap_or_default(),
        logs: None,
        extra_env: Vec::new(),
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--runs" => {
                options.runs = value()?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--runs needs a positive number")?;
            }
            "--dir" => options.dir = value()?.into(),
            "--logs" => options.logs = Some(value()?.into()),
            "--env" => {
                let pair = value()?;
                let (k, v) = pair.split_once('=').ok_or("--env needs KEY=VALUE")?;
                options.extra_env.push((k.to_owned(), v.to_owned()));
            }
            "-h" | "--help" => return Err(String::new()),
            name if functions::ALL.iter().any(|f| f.name == name) => {
                options.only.push(name.to_owned())
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

/// One start of one binary.
struct Sample {
    ready: Duration,
    rss_at_ready_kib: Option<u64>,
    rss_after_event_kib: Option<u64>,
    answer: Answer,
    sink_during_init: u32,
    sink_during_event: u32,
}

enum Answer {
    Response(String),
    Error(String),
    Missing(String),
}

impl Answer {
    fn kind(&self) -> &'static str {
        match self {
            Answer::Response(_) => "response",
            Answer::Error(_) => "error",
            Answer::Missing(_) => "no answer",
        }
    }

    fn detail(&self) -> &str {
        match self {
            Answer::Response(s) | Answer::Error(s) | Answer::Missing(s) => s,
        }
    }
}

/// A binary under test and everything measured of it.
struct Target {
    function: &'static Function,
    path: PathBuf,
    env: Vec<(String, String)>,
    log: Option<PathBuf>,
    samples: Vec<Sample>,
    failure: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(why) => {
            if !why.is_empty() {
                eprintln!("{why}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(why) = run(options).await {
        eprintln!("coldstart: {why}");
        std::process::exit(1);
    }
}

async fn run(options: Options) -> Result<(), String> {
    let api = RuntimeApi::default();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("could not listen for the Runtime API: {e}"))?;
    let sink = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("could not open the sink port: {e}"))?;
    let api_addr = listener.local_addr().map_err(|e| e.to_string())?;
    let sink_addr = sink.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(api.clone().serve_sink(sink));
    let router = api.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    eprintln!(
        "==> Runtime API on {api_addr}; AWS endpoint and HTTP(S) proxy: the sink on {sink_addr}"
    );
    for (k, v) in &options.extra_env {
        eprintln!("==> also set for every binary: {k}={v}");
    }

    if let Some(logs) = &options.logs {
        std::fs::create_dir_all(logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    }
    let mut targets: Vec<Target> = functions::ALL
        .iter()
        .filter(|f| options.only.is_empty() || options.only.iter().any(|n| n == f.name))
        .map(|function| Target {
            function,
            path: options.dir.join(function.name),
            env: environment(function, &api_addr.to_string(), &sink_addr.to_string())
                .into_iter()
                .chain(options.extra_env.iter().cloned())
                .collect(),
            log: options
                .logs
                .as_ref()
                .map(|dir| dir.join(format!("{}.log", function.name))),
            samples: Vec::new(),
            failure: None,
        })
        .collect();
    if let Some(missing) = targets.iter().find(|t| !t.path.is_file()) {
        return Err(format!(
            "{} is missing: build it first (infra/bench/coldstart.sh does)",
            missing.path.display()
        ));
    }

    // One discarded start each, so every binary is in the page cache; then round-robin, so the
    // machine's noise falls on all of them alike.
    for round in 0..=options.runs {
        eprintln!(
            "==> {} {round}/{}",
            if round == 0 { "warm-up" } else { "round" },
            options.runs
        );
        for target in targets.iter_mut().filter(|t| t.failure.is_none()) {
            match start_once(&api, target, round).await {
                Ok(sample) if round > 0 => target.samples.push(sample),
                Ok(_) => {}
                Err(why) => target.failure = Some(why),
            }
        }
    }
    print_tables(&targets, options.runs);
    Ok(())
}

/// What Lambda sets for every function (the documented reserved variables), dummy credentials,
/// and the function's own; nothing from the caller's environment.
fn environment(function: &Function, api: &str, sink: &str) -> Vec<(String, String)> {
    let name = format!("palinsesto-{}", function.name);
    let sink_url = format!("http://{sink}");
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_RUNTIME_API", api.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            function.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/30/[$LATEST]0123456789abcdef0123456789abcdef".into(),
        ),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "AKIDCOLDSTART".into()),
        ("AWS_SECRET_ACCESS_KEY", "coldstart".into()),
        ("AWS_SESSION_TOKEN", "coldstart".into()),
        ("TZ", ":UTC".into()),
        ("RUST_LOG", "info".into()),
        // Every AWS call and every proxied HTTP(S) call lands on the sink, which counts it: no
        // real network at all, and a call made during init shows up in the report.
        ("AWS_ENDPOINT_URL", sink_url.clone()),
        ("HTTPS_PROXY", sink_url.clone()),
        ("HTTP_PROXY", sink_url),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(
        function
            .env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

async fn start_once(api: &RuntimeApi, target: &Target, round: usize) -> Result<Sample, String> {
    let (reports, mut received) = mpsc::unbounded_channel();
    let mut command = Command::new(&target.path);
    command
        .env_clear()
        .envs(target.env.iter().map(|(k, v)| (k, v)));
    command.stdin(Stdio::null());
    match &target.log {
        Some(path) => {
            let log = File::options()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let log_err = log.try_clone().map_err(|e| e.to_string())?;
            command.stdout(log).stderr(log_err);
        }
        None => {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
    let function = target.function;
    // The harness runs on one thread: no handler can look at the slot before it is filled.
    let child = api.with(|current| {
        let spawned = Instant::now();
        let child = command.spawn();
        *current = Some(Invocation {
            request_id: format!("coldstart-{}-{round}", function.name),
            function_arn: format!(
                "arn:aws:lambda:us-east-1:123456789012:function:palinsesto-{}",
                function.name
            ),
            event: Bytes::from_static(function.event.as_bytes()),
            spawned,
            pid: child.as_ref().ok().map(Child::id),
            delivered: false,
            sink_during_init: 0,
            sink_during_event: 0,
            reports,
        });
        child
    });
    let mut child = child.map_err(|e| format!("could not start {}: {e}", target.path.display()))?;
    let watched = watch(&mut received, &mut child).await;
    let _ = child.kill();
    let _ = child.wait();
    // Lets the sink take any connection the process made just before it died.
    tokio::time::sleep(Duration::from_millis(2)).await;
    let invocation = api.with(Option::take);
    let (ready, rss_at_ready_kib, rss_after_event_kib, answer) = watched?;
    let (sink_during_init, sink_during_event) = invocation
        .map(|inv| (inv.sink_during_init, inv.sink_during_event))
        .unwrap_or_default();
    Ok(Sample {
        ready,
        rss_at_ready_kib,
        rss_after_event_kib,
        answer,
        sink_during_init,
        sink_during_event,
    })
}

type Watched = (Duration, Option<u64>, Option<u64>, Answer);

/// Follows one process from spawn to its answer to the one event.
async fn watch(
    received: &mut mpsc::UnboundedReceiver<Report>,
    child: &mut Child,
) -> Result<Watched, String> {
    let started = Instant::now();
    let mut ready: Option<(Duration, Option<u64>, Instant)> = None;
    loop {
        let report = tokio::select! {
            report = received.recv() => report,
            () = tokio::time::sleep(Duration::from_millis(20)) => None,
        };
        match report {
            Some(Report::Ready {
                after,
                peak_rss_kib,
            }) => ready = Some((after, peak_rss_kib, Instant::now())),
            Some(Report::Answered {
                error,
                body,
                peak_rss_kib,
            }) => {
                let (after, at_ready, _) =
                    ready.ok_or("answered before asking for an event (impossible)")?;
                let body = one_line(&body);
                let answer = if error {
                    Answer::Error(body)
                } else {
                    Answer::Response(body)
                };
                return Ok((after, at_ready, peak_rss_kib, answer));
            }
            Some(Report::InitError { error_type, body }) => {
                return Err(format!(
                    "failed to start: init/error {error_type}: {}",
                    one_line(&body)
                ));
            }
            None => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            let when = if ready.is_some() {
                "after asking for an event, before answering it"
            } else {
                "before asking for an event"
            };
            return Err(format!("exited ({status}) {when}"));
        }
        match ready {
            None if started.elapsed() > READY_TIMEOUT => {
                return Err(format!("did not ask for an event within {READY_TIMEOUT:?}"));
            }
            Some((after, at_ready, since)) if since.elapsed() > ANSWER_TIMEOUT => {
                let answer = Answer::Missing(format!("none within {ANSWER_TIMEOUT:?}"));
                return Ok((after, at_ready, None, answer));
            }
            _ => {}
        }
    }
}

fn one_line(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 240 {
        format!("{}...", flat.chars().take(240).collect::<String>())
    } else {
        flat
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

fn print_tables(targets: &[Target], runs: usize) {
    let ready = |t: &Target| {
        let mut all: Vec<Duration> = t.samples.iter().map(|s| s.ready).collect();
        all.sort();
        (!all.is_empty()).then(|| (percentile(&all, 0.5), percentile(&all, 0.9)))
    };
    let baseline = targets
        .iter()
        .find(|t| t.function.name == "hello")
        .and_then(ready);
    let ratio = |value: Duration, base: Option<Duration>| {
        base.map_or("-".into(), |b| {
            format!("{:.2}", value.as_secs_f64() / b.as_secs_f64())
        })
    };
    println!(
        "| binary | starts | ready p50 | ready p90 | p50 / hello | p90 / hello | peak RSS at ready, MiB (median) | peak RSS after the event, MiB (median / max) | size, MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for t in targets {
        let size = std::fs::metadata(&t.path)
            .map_or("?".into(), |m| format!("{:.2}", m.len() as f64 / 1048576.0));
        let Some((p50, p90)) = ready(t) else {
            println!(
                "| {} | 0 of {runs} | - | - | - | - | - | - | {size} |",
                t.function.name
            );
            continue;
        };
        let median_kib = |values: Vec<Option<u64>>| {
            let mut values: Vec<u64> = values.into_iter().flatten().collect();
            values.sort_unstable();
            values.get(values.len().saturating_sub(1) / 2).copied()
        };
        let at_ready = median_kib(t.samples.iter().map(|s| s.rss_at_ready_kib).collect());
        let after: Vec<Option<u64>> = t.samples.iter().map(|s| s.rss_after_event_kib).collect();
        let max_after = after.iter().flatten().max().copied();
        println!(
            "| {} | {} of {runs} | {} | {} | {} | {} | {} | {} / {} | {size} |",
            t.function.name,
            t.samples.len(),
            ms(p50),
            ms(p90),
            ratio(p50, baseline.map(|b| b.0)),
            ratio(p90, baseline.map(|b| b.1)),
            mib(at_ready),
            mib(median_kib(after)),
            mib(max_after),
        );
    }
    println!();
    println!(
        "| binary | event | answer (first start) | same kind of answer | connections to the sink during init / during the event |"
    );
    println!("|---|---|---|---|---|");
    for t in targets {
        let Some(first) = t.samples.first() else {
            let why = t.failure.as_deref().unwrap_or("no start measured");
            println!(
                "| {} | {} | FAILED: {why} | - | - |",
                t.function.name, t.function.event_name
            );
            continue;
        };
        let same = t
            .samples
            .iter()
            .filter(|s| s.answer.kind() == first.answer.kind())
            .count();
        let init: u32 = t.samples.iter().map(|s| s.sink_during_init).sum();
        let event: u32 = t.samples.iter().map(|s| s.sink_during_event).sum();
        println!(
            "| {} | {} | {}: `{}` | {same} of {} | {init} / {event} |",
            t.function.name,
            t.function.event_name,
            first.answer.kind(),
            first.answer.detail().replace('|', "\\|").replace('`', "'"),
            t.samples.len(),
        );
        if let Some(why) = &t.failure {
            println!("|  |  | then FAILED: {why} |  |  |");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms = |v: u64| Duration::from_millis(v);
        let values: Vec<Duration> = (1..=20).map(ms).collect();
        assert_eq!(percentile(&values, 0.5), ms(10));
        assert_eq!(percentile(&values, 0.9), ms(18));
        assert_eq!(percentile(&[ms(7)], 0.9), ms(7));
    }

    #[test]
    fn answers_are_flattened_and_cut() {
        assert_eq!(one_line("{\n  \"a\": 1\n}"), "{ \"a\": 1 }");
        assert_eq!(one_line(&"x".repeat(300)).chars().count(), 243);
    }
}
