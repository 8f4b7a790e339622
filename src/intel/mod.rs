//! Who is behind an address, offline: MaxMind GeoIP/ASN databases ([`geo`]) and threat lists
//! ([`threat`]), both loaded once per run and shared by the workers. [`ranges`] is the
//! interval set the threat lists are held in.

pub mod geo;
pub mod ranges;
pub mod threat;

pub use geo::{GeoIp, NetInfo};
pub use ranges::Ranges;
pub use threat::{ThreatList, ThreatLists};
