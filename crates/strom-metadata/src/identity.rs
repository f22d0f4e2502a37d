//! The identity of a data directory: `<log.dir>/meta.properties`, which records the cluster id
//! and node id the directory was formatted with, as Kafka's does. It is written once, on the
//! first start, and checked on every later start, so a directory copied from another node, or a
//! node started with the wrong `node.id`, fails loudly instead of serving someone else's data.
//!
//! The file is Java-properties-like text (`key=value` lines, `#` comments); this module reads
//! only the keys it writes and does not implement the full properties syntax.

use std::fs;
use std::io;
use std::path::Path;

use crate::ids::{BrokerId, ClusterId};
use crate::storage::replace_file;
use crate::{Error, Result};

/// The identity file's name in a log dir.
pub const META_PROPERTIES_FILE_NAME: &str = "meta.properties";

const VERSION: &str = "1";

/// Which cluster and node a data directory belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The cluster id.
    pub cluster_id: ClusterId,
    /// The node id.
    pub node_id: BrokerId,
}

/// Reads `<log_dir>/meta.properties`, or creates it with `node_id` and `new_cluster_id` when the
/// directory is new. Fails with [`Error::NodeIdMismatch`] when the directory belongs to another
/// node.
pub fn load_or_create_identity(
    log_dir: &Path,
    node_id: BrokerId,
    new_cluster_id: &ClusterId,
) -> Result<Identity> {
    let path = log_dir.join(META_PROPERTIES_FILE_NAME);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(log_dir)?;
            let res = Identity {
                cluster_id: new_cluster_id.clone(),
                node_id,
            };
            let text = format!(
                "# Written by strom on the first start; do not edit.\nversion={VERSION}\n\
                 cluster.id={}\nnode.id={}\n",
                res.cluster_id, res.node_id
            );
            replace_file(&path, text.as_bytes())?;
            return Ok(res);
        }
        Err(error) => return Err(error.into()),
    };
    let bad = |reason: &str| Error::BadMetaProperties {
        path: path.clone(),
        reason: reason.to_owned(),
    };
    let mut version = None;
    let mut cluster_id = None;
    let mut stored_node_id = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(bad("a line is not key=value"));
        };
        match key.trim() {
            "version" => version = Some(value.trim().to_owned()),
            "cluster.id" => cluster_id = Some(ClusterId(value.trim().to_owned())),
            "node.id" => match value.trim().parse::<i32>() {
                Ok(id) => stored_node_id = Some(BrokerId(id)),
                Err(_) => return Err(bad("node.id is not a number")),
            },
            _ => {}
        }
    }
    if version.as_deref() != Some(VERSION) {
        return Err(bad("unsupported or missing version"));
    }
    let Some(cluster_id) = cluster_id.filter(|cluster_id| !cluster_id.0.is_empty()) else {
        return Err(bad("missing cluster.id"));
    };
    let Some(stored) = stored_node_id else {
        return Err(bad("missing node.id"));
    };
    if stored != node_id {
        return Err(Error::NodeIdMismatch {
            path,
            stored,
            configured: node_id,
        });
    }
    Ok(Identity {
        cluster_id,
        node_id,
    })
}
