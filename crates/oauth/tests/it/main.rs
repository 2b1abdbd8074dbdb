//! Integration tests for patchbay-oauth, in one binary so they link once.

mod emulator;
mod faults;
mod setup_cases;
mod stub;
