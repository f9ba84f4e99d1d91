//! Ring properties that hold for any destinations and names.

use proptest::prelude::*;

use super::*;
