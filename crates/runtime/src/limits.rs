//! Per-source-address token buckets: request rates, connection counts and the
//! redirect's budget of misses, with bounded memory under a flood of addresses.
//!
//! An IPv6 client is keyed by its /64, because one host can pick addresses
//! from its whole /64 at will; an IPv4 client by its address (many phones
//! behind one NAT share it, which the defaults allow for).

use foldhash::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;
/// Addresses tracked per shard before idle ones are dropped; beyond that a new
/// address is checked against the shared overflow bucket instead.
const MAX_PER_SHARD: usize = 8192;

/// The key an address is limited under.
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut o = v6.octets();
                o[8..].fill(0);
                IpAddr::V6(o.into())
            }
        },
    }
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, rate: f64, burst: f64, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * rate).min(burst);
        self.at = now;
    }
}

/// One token bucket per source: `rate` tokens a second up to `burst`.
/// A rate of 0 turns the limit off.
pub struct PerSource {
    rate: f64,
    burst: f64,
    shards: Vec<Mutex<HashMap<IpAddr, Bucket>>>,
    /// Shared by the addresses that did not fit: a flood of fresh addresses
    /// ends up limited together rather than growing the map.
    overflow: Mutex<Bucket>,
}

impl PerSource {
    pub fn new(rate_per_sec: f64, burst: f64) -> Self {
        let burst = burst.max(1.0);
        PerSource {
            rate: rate_per_sec.max(0.0),
            burst,
            shards: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::default()))
                .collect(),
            overflow: Mutex::new(Bucket {
                tokens: burst,
                at: Instant::now(),
            }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.rate > 0.0
    }

    fn with<T>(&self, ip: IpAddr, now: Instant, f: impl FnOnce(&mut Bucket) -> T) -> T {
        let key = source_key(ip);
        let shard = &self.shards[shard_of(&key)];
        let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_PER_SHARD && !map.contains_key(&key) {
            // Full buckets carry no state worth keeping.
            let (rate, burst) = (self.rate, self.burst);
            map.retain(|_, b| {
                b.refill(rate, burst, now);
                b.tokens < burst
            });
            if map.len() >= MAX_PER_SHARD {
                drop(map);
                let mut b = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
                b.refill(self.rate, self.burst * 4.0, now);
                return f(&mut b);
            }
        }
        let b = map.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        b.refill(self.rate, self.burst, now);
        f(b)
    }

    /// Takes one token, or says how long until one is there.
    pub fn take(&self, ip: IpAddr) -> Result<(), Duration> {
        self.take_at(ip, Instant::now())
    }

    fn take_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if !self.enabled() {
            return Ok(());
        }
        let rate = self.rate;
        self.with(ip, now, |b| {
            if b.tokens >= 1.0 {
                b.tokens -= 1.0;
                Ok(())
            } else {
                Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
            }
        })
    }

    /// Whether a token is there, without taking it.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        if !self.enabled() {
            return Ok(());
        }
        let rate = self.rate;
        self.with(ip, Instant::now(), |b| {
            if b.tokens >= 1.0 {
                Ok(())
            } else {
                Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
            }
        })
    }

    /// Takes one token even if that leaves the bucket below zero (down to
    /// minus one burst): each miss past the budget pushes the source's wait
    /// further out.
    pub fn charge(&self, ip: IpAddr) {
        if !self.enabled() {
            return;
        }
        let burst = self.burst;
        self.with(ip, Instant::now(), |b| {
            b.tokens = (b.tokens - 1.0).max(-burst);
        });
    }
}

fn shard_of(ip: &IpAddr) -> usize {
    let h = match ip {
        IpAddr::V4(v4) => u32::from(*v4) as usize,
        IpAddr::V6(v6) => {
            let o = v6.octets();
            usize::from_le_bytes(o[..8].try_into().unwrap_or_default())
        }
    };
    (h ^ (h >> 7) ^ (h >> 16)) % SHARDS
}

/// Open connections per source and in all, for one listener.
pub struct Connections {
    per_source: usize,
    total: usize,
    open: AtomicUsize,
    by_source: Mutex<HashMap<IpAddr, usize>>,
}

/// Why a connection was turned away.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// This source has too many open (429).
    Source,
    /// The listener has too many open (503).
    Total,
}

impl Connections {
    /// 0 turns a limit off.
    pub fn new(per_source: usize, total: usize) -> Self {
        Connections {
            per_source,
            total,
            open: AtomicUsize::new(0),
            by_source: Mutex::new(HashMap::default()),
        }
    }

    /// Counts a new connection in, or says why not; a granted connection must
    /// be given back with [`Connections::release`].
    pub fn admit(&self, ip: IpAddr) -> Result<(), Refused> {
        if self.total > 0 && self.open.load(Ordering::Relaxed) >= self.total {
            return Err(Refused::Total);
        }
        if self.per_source > 0 {
            let mut m = self.by_source.lock().unwrap_or_else(|e| e.into_inner());
            let n = m.entry(source_key(ip)).or_insert(0);
            if *n >= self.per_source {
                return Err(Refused::Source);
            }
            *n += 1;
        }
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    pub fn release(&self, ip: IpAddr) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        if self.per_source > 0 {
            let mut m = self.by_source.lock().unwrap_or_else(|e| e.into_inner());
            let key = source_key(ip);
            if let Some(n) = m.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&key);
                }
            }
        }
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_its_burst_then_waits() {
        let l = PerSource::new(10.0, 5.0);
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        for _ in 0..5 {
            l.take(a).unwrap();
        }
        let wait = l.take(a).unwrap_err();
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        l.take(b).expect("another source has its own bucket");
        assert!(PerSource::new(0.0, 1.0).take(a).is_ok(), "0 is off");
    }

    #[test]
    fn misses_past_the_budget_push_the_wait_out() {
        let l = PerSource::new(1.0, 3.0);
        let a: IpAddr = [192, 0, 2, 1].into();
        for _ in 0..3 {
            l.check(a).unwrap();
            l.charge(a);
        }
        let first = l.check(a).unwrap_err();
        l.charge(a);
        l.charge(a);
        let later = l.check(a).unwrap_err();
        assert!(
            later > first + Duration::from_millis(1500),
            "{first:?} {later:?}"
        );
    }

    #[test]
    fn ipv6_hosts_are_limited_by_their_64() {
        let l = PerSource::new(1.0, 1.0);
        l.take("2001:db8::1".parse().unwrap()).unwrap();
        assert!(l.take("2001:db8::ffff:2".parse().unwrap()).is_err());
        assert!(l.take("2001:db8:0:1::1".parse().unwrap()).is_ok());
    }

    #[test]
    fn a_flood_of_fresh_sources_keeps_memory_bounded() {
        let l = PerSource::new(1.0, 2.0);
        for i in 0..(SHARDS * MAX_PER_SHARD + 50_000) as u32 {
            let _ = l.take(IpAddr::V4(i.into()));
        }
        let tracked: usize = l.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(tracked <= SHARDS * MAX_PER_SHARD, "{tracked}");
    }

    #[test]
    fn connections_per_source_and_in_all() {
        let c = Connections::new(2, 3);
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        c.admit(a).unwrap();
        c.admit(a).unwrap();
        assert_eq!(c.admit(a), Err(Refused::Source));
        c.admit(b).unwrap();
        assert_eq!(c.admit(b), Err(Refused::Total));
        c.release(a);
        c.admit(b).unwrap();
        assert_eq!(c.open(), 3);
    }
}

/// Every limit of one listener: connections, and requests per source and in all.
pub struct Limits {
    pub conns: Connections,
    per_source: PerSource,
    total: Mutex<Option<(Bucket, f64, f64)>>,
}

/// A request turned away before it reached the handler.
#[derive(Debug, PartialEq, Eq)]
pub enum Shed {
    /// This source is over its rate: 429.
    Source(Duration),
    /// The listener is over its total rate: 503.
    Total(Duration),
}

impl Limits {
    pub fn new(cfg: &crate::config::LimitsConfig) -> Self {
        let total_rate = f64::from(cfg.requests_per_sec);
        Limits {
            conns: Connections::new(cfg.connections_per_ip, cfg.max_connections),
            per_source: PerSource::new(
                f64::from(cfg.requests_per_sec_per_ip),
                f64::from(cfg.requests_burst_per_ip),
            ),
            total: Mutex::new((total_rate > 0.0).then(|| {
                let burst = total_rate.max(1.0);
                (
                    Bucket {
                        tokens: burst,
                        at: Instant::now(),
                    },
                    total_rate,
                    burst,
                )
            })),
        }
    }

    /// Admits one request from `ip`, or says why not and for how long.
    pub fn request(&self, ip: IpAddr) -> Result<(), Shed> {
        let now = Instant::now();
        self.per_source.take_at(ip, now).map_err(Shed::Source)?;
        let mut total = self.total.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((b, rate, burst)) = total.as_mut() {
            b.refill(*rate, *burst, now);
            if b.tokens < 1.0 {
                return Err(Shed::Total(Duration::from_secs_f64(
                    (1.0 - b.tokens) / *rate,
                )));
            }
            b.tokens -= 1.0;
        }
        Ok(())
    }
}
