//! The saved HNSW graph, so a restart does not rebuild it.
//!
//! Layout (little-endian): the magic `FDHNSW01`; the model fingerprint
//! (64 hex bytes); the sha256 of the sorted (entry id, key) pairs of its
//! nodes, which ties the file to the exact set of texts; the sha256 of
//! the body; then the body: slot count, entry point (`u32::MAX` for
//! none), and per slot a live flag and, for a live node, its entry id,
//! key and neighbour lists by level. Vectors are not in the file: they
//! come from the `faq_vectors` tree by key. A file that fails any check
//! is reported as an error and the caller rebuilds the graph.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::hnsw::Hnsw;
use super::{Key, Label, State, DIM};

const MAGIC: &[u8; 8] = b"FDHNSW01";
const HEADER: usize = 8 + 64 + 32 + 32;

/// The digest of a sorted list of (entry id, key) pairs.
fn set_digest<'a>(labels: impl Iterator<Item = (&'a str, &'a Key)>) -> [u8; 32] {
    let mut h = Sha256::new();
    for (id, key) in labels {
        h.update((id.len() as u32).to_le_bytes());
        h.update(id.as_bytes());
        h.update(key);
    }
    h.finalize().into()
}

/// The digest of the (entry id, key) pairs the slots hold.
fn labels_digest(labels: &[Option<Label>]) -> [u8; 32] {
    let mut pairs: Vec<(&str, &Key)> = labels
        .iter()
        .flatten()
        .map(|l| (&*l.entry, &l.key))
        .collect();
    pairs.sort_unstable();
    set_digest(pairs.into_iter())
}

/// Serialise a graph and its labels.
pub(super) fn encode(fingerprint: &str, graph: &Hnsw, labels: &[Option<Label>]) -> Vec<u8> {
    let mut body = Vec::new();
    let slots = graph.slots() as u32;
    body.extend(slots.to_le_bytes());
    body.extend(graph.entry().unwrap_or(u32::MAX).to_le_bytes());
    for slot in 0..slots {
        match (
            graph.links(slot),
            labels.get(slot as usize).and_then(Option::as_ref),
        ) {
            (Some(levels), Some(label)) => {
                body.push(1);
                body.extend((label.entry.len() as u16).to_le_bytes());
                body.extend(label.entry.as_bytes());
                body.extend(label.key);
                body.push(levels.len() as u8);
                for list in levels {
                    // Links to freed slots are dropped.
                    let live: Vec<u32> = list
                        .iter()
                        .copied()
                        .filter(|&n| graph.links(n).is_some())
                        .collect();
                    body.extend((live.len() as u16).to_le_bytes());
                    for n in live {
                        body.extend(n.to_le_bytes());
                    }
                }
            }
            _ => body.push(0),
        }
    }
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend(MAGIC);
    out.extend(
        fingerprint
            .as_bytes()
            .iter()
            .copied()
            .chain(std::iter::repeat(b' '))
            .take(64),
    );
    out.extend(labels_digest(labels));
    out.extend(Sha256::digest(&body));
    out.extend(body);
    out
}

/// Write `bytes` to `path` through a temporary file and a rename, so a
/// crash leaves the old file or the new one.
pub(super) fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_data()?;
    std::fs::rename(&tmp, path)
}

/// A cursor over the body that fails instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.bytes.len() < n {
            return Err("the file is truncated".into());
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Load the graph in `path` if it was saved for this model and exactly
/// the `expected` (entry id, key) pairs (sorted); vectors come from
/// `vectors`. Any mismatch or damage is an error naming it.
pub(super) fn load(
    path: &Path,
    fingerprint: &str,
    expected: &[(String, Key)],
    vectors: &HashMap<Key, Vec<f32>>,
) -> Result<State, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err("not a graph file".into());
    }
    if bytes[8..72].trim_ascii_end() != fingerprint.as_bytes() {
        return Err("saved for another model".into());
    }
    let digest = set_digest(expected.iter().map(|(id, k)| (id.as_str(), k)));
    if bytes[72..104] != digest {
        return Err("saved for other FAQ entries".into());
    }
    let body = &bytes[HEADER..];
    if Sha256::digest(body).as_slice() != &bytes[104..136] {
        return Err("the file is damaged (checksum)".into());
    }
    let mut r = Reader { bytes: body };
    let slots = r.u32()? as usize;
    let entry = r.u32()?;
    if slots > body.len() {
        return Err("more nodes than bytes".into());
    }
    let mut links: Vec<Option<Vec<Vec<u32>>>> = Vec::with_capacity(slots.min(1 << 24));
    let mut labels: Vec<Option<Label>> = Vec::with_capacity(slots.min(1 << 24));
    let mut flat = vec![0.0f32; slots * DIM];
    let mut ids: HashMap<String, Arc<str>> = HashMap::new();
    for slot in 0..slots {
        if r.u8()? == 0 {
            links.push(None);
            labels.push(None);
            continue;
        }
        let n = r.u16()? as usize;
        let id = std::str::from_utf8(r.take(n)?).map_err(|_| "bad entry id")?;
        let key: Key = r.take(32)?.try_into().map_err(|_| "bad key")?;
        let vector = vectors.get(&key).ok_or("a node's vector is missing")?;
        flat[slot * DIM..(slot + 1) * DIM].copy_from_slice(vector);
        let levels = r.u8()? as usize;
        if levels == 0 {
            return Err("a node without levels".into());
        }
        let mut node = Vec::with_capacity(levels);
        for _ in 0..levels {
            let n = r.u16()? as usize;
            let list = (0..n).map(|_| r.u32()).collect::<Result<Vec<u32>, _>>()?;
            if list.iter().any(|&x| x as usize >= slots) {
                return Err("a link past the last node".into());
            }
            node.push(list);
        }
        links.push(Some(node));
        let entry_id = ids
            .entry(id.to_owned())
            .or_insert_with(|| id.into())
            .clone();
        labels.push(Some(Label {
            entry: entry_id,
            key,
        }));
    }
    if !r.bytes.is_empty() {
        return Err("trailing bytes".into());
    }
    let entry = match entry {
        u32::MAX => None,
        e if (e as usize) < slots && links[e as usize].is_some() => Some(e),
        _ => return Err("a bad entry point".into()),
    };
    if entry.is_none() != expected.is_empty() {
        return Err("a bad entry point".into());
    }
    if labels_digest(&labels) != digest {
        return Err("the nodes do not match the header".into());
    }
    let graph = Hnsw::from_parts(DIM, flat, links, entry);
    Ok(State::from_graph(graph, labels))
}
