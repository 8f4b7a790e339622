//! The model on crafted events.

use super::*;
