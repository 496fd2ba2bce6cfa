//! `system df`: the daemon's disk usage as docker's table of totals.

use clap::Args;
use http::Method;

use crate::client::Client;
use crate::error::{CliError, Result};
use crate::template::Value;

#[derive(Debug, Args)]
#[command(override_usage = "berth system df [OPTIONS]")]
pub struct DfArgs {
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Show detailed information on space usage (not supported by berth yet)
    #[arg(short = 'v', long, hide = true)]
    pub verbose: bool,
}

/// `"1.98MB (100%)"`: what can go, and its share of `total`.
fn reclaimable(reclaim: i64, total: i64) -> String {
    if total > 0 {
        format!("{} ({}%)", crate::format::human_size_precise(reclaim), reclaim * 100 / total)
    } else {
        crate::format::human_size_precise(reclaim)
    }
}

/// The rows of `system df`, as docker's disk-usage formatter computes them.
pub fn df_rows(df: &berth_api_types::system::SystemDf) -> Vec<Value> {
    use crate::format::human_size_precise as hs;
    let row = |kind: &str, total: usize, active: usize, size: i64, reclaim: String| {
        Value::map([
            ("Active", Value::Str(active.to_string())),
            ("Reclaimable", Value::Str(reclaim)),
            ("Size", Value::Str(hs(size))),
            ("TotalCount", Value::Str(total.to_string())),
            ("Type", Value::from(kind)),
        ])
    };
    let images = df.images.clone().unwrap_or_default();
    let layers = df.layers_size.unwrap_or(0);
    let used: i64 = images.iter().filter(|i| i.containers > 0 && i.size >= 0 && i.shared_size >= 0).map(|i| i.size - i.shared_size).sum();
    let containers = df.containers.clone().unwrap_or_default();
    let active = |s: &str| matches!(s, "running" | "paused" | "restarting");
    let csize: i64 = containers.iter().map(|c| c.size_rw.unwrap_or(0)).sum();
    let creclaim: i64 = containers.iter().filter(|c| !active(&c.state)).map(|c| c.size_rw.unwrap_or(0)).sum();
    let volumes = df.volumes.clone().unwrap_or_default();
    let vol = |v: &berth_api_types::volume::Volume| v.usage_data.as_ref().map_or((0, -1), |u| (u.ref_count, u.size));
    let vsize: i64 = volumes.iter().map(|v| vol(v).1.max(0)).sum();
    let vreclaim: i64 = volumes.iter().filter(|v| vol(v).0 == 0).map(|v| vol(v).1.max(0)).sum();
    let cache = df.build_cache.clone().unwrap_or_default();
    let in_use = |c: &serde_json::Value| c["InUse"].as_bool().unwrap_or(false);
    let size_of = |c: &serde_json::Value| c["Size"].as_i64().unwrap_or(0);
    let bsize: i64 = cache.iter().filter(|c| !c["Shared"].as_bool().unwrap_or(false)).map(size_of).sum();
    let breclaim: i64 = cache.iter().filter(|c| !in_use(c)).map(size_of).sum();
    vec![
        row("Images", images.len(), images.iter().filter(|i| i.containers > 0).count(), layers, reclaimable(layers - used, layers)),
        row("Containers", containers.len(), containers.iter().filter(|c| active(&c.state)).count(), csize, reclaimable(creclaim, csize)),
        row("Local Volumes", volumes.len(), volumes.iter().filter(|v| vol(v).0 > 0).count(), vsize, reclaimable(vreclaim, vsize)),
        row("Build Cache", cache.len(), cache.iter().filter(|c| in_use(c)).count(), bsize, crate::format::human_size_precise(breclaim)),
    ]
}

pub async fn df(client: &Client, a: &DfArgs) -> Result<i32> {
    if a.verbose {
        return Err(CliError::new("berth does not support system df --verbose (-v) yet"));
    }
    let format = crate::format::ListFormat::parse(a.format.as_deref().unwrap_or(""), "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}")
        .map_err(|e| CliError::new(e.to_string()))?;
    let df: berth_api_types::system::SystemDf = client.json(Method::GET, "/system/df", None).await?;
    let headers = Value::map(
        [("Active", "ACTIVE"), ("Reclaimable", "RECLAIMABLE"), ("Size", "SIZE"), ("TotalCount", "TOTAL"), ("Type", "TYPE")].map(|(k, v)| (k, Value::from(v))),
    );
    print!("{}", format.render(&df_rows(&df), &headers).map_err(|e| CliError::new(e.to_string()))?);
    Ok(0)
}

