//! `prices/<region>.toml`: what AWS charges in a region, one dated, sourced price per key,
//! read into exact pico-dollars.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;

/// The price table of one region.
#[derive(Debug, Clone)]
pub struct PriceTable {
    /// `prices/us-west-2.toml`, relative to the project root.
    pub file: String,
    pub region: String,
    pub prices: BTreeMap<String, Price>,
}

/// `usd` dollars for `per` units, exactly: `pico_usd` is the dollars in US$ 10⁻¹².
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Price {
    pub key: String,
    /// As written in the table: `"0.0000133334"`.
    pub usd: String,
    #[serde(skip)]
    pub pico_usd: u128,
    pub per: u64,
    pub unit: String,
    /// Units a month AWS does not charge for (a free tier that does not expire), or 0.
    pub free: u64,
    pub as_of: String,
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    region: String,
    #[serde(default)]
    price: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    key: String,
    usd: String,
    per: u64,
    unit: String,
    #[serde(default)]
    free: u64,
    as_of: toml::value::Datetime,
    source: String,
}

impl PriceTable {
    /// Reads `root/prices/<region>.toml`.
    pub fn load(root: &Path, region: &str) -> anyhow::Result<PriceTable> {
        let file = format!("prices/{region}.toml");
        let path = root.join(&file);
        if !path.is_file() {
            let known = known_regions(root);
            bail!(
                "no price table for {region}: {file} does not exist (tables: {}); copy one, check each price for {region} and set its date",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            );
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {file}"))?;
        PriceTable::parse(&file, region, &text)
    }

    /// Checks `text` as the table `file` for `region`.
    pub fn parse(file: &str, region: &str, text: &str) -> anyhow::Result<PriceTable> {
        let raw: File =
            toml::from_str(text).with_context(|| format!("{file} is not a price table"))?;
        if raw.region != region {
            bail!("{file}: region: {:?} is not {region:?}", raw.region);
        }
        let mut prices = BTreeMap::new();
        for (i, entry) in raw.price.into_iter().enumerate() {
            let at = format!("{file}: price[{i}] ({})", entry.key);
            let pico_usd = pico_dollars(&entry.usd)
                .with_context(|| format!("{at}: usd {:?} is not an amount of dollars such as \"0.20\" (up to 12 decimals)", entry.usd))?;
            if entry.per == 0 {
                bail!("{at}: per must be at least 1");
            }
            let as_of = match (entry.as_of.date, entry.as_of.time) {
                (Some(d), None) => format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
                _ => bail!("{at}: as_of must be a date such as 2026-09-03"),
            };
            let price = Price {
                key: entry.key.clone(),
                usd: entry.usd,
                pico_usd,
                per: entry.per,
                unit: entry.unit,
                free: entry.free,
                as_of,
                source: entry.source,
            };
            if prices.insert(entry.key.clone(), price).is_some() {
                bail!("{at}: the key is listed twice");
            }
        }
        Ok(PriceTable {
            file: file.to_owned(),
            region: region.to_owned(),
            prices,
        })
    }

    /// The price of `key`, or an error naming the table and the key.
    pub fn get(&self, key: &str) -> anyhow::Result<&Price> {
        self.prices
            .get(key)
            .with_context(|| format!("{} has no price {key:?}", self.file))
    }
}

/// The regions with a table in `root/prices/`.
fn known_regions(root: &Path) -> Vec<String> {
    let mut regions: Vec<String> = std::fs::read_dir(root.join("prices"))
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "toml").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    regions.sort();
    regions
}

/// `"0.0000133334"` as pico-dollars (13,333,400), exactly; `None` for anything but digits with
/// at most one point and twelve decimals.
pub fn pico_dollars(text: &str) -> Option<u128> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || fraction.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 12
    {
        return None;
    }
    let whole: u128 = whole.parse().ok()?;
    let padded = format!("{fraction:0<12}");
    let fraction: u128 = padded.parse().ok()?;
    whole.checked_mul(1_000_000_000_000)?.checked_add(fraction)
}
