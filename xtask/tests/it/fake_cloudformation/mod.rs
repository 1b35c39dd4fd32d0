//! The local CloudFormation of `testkit` (`testkit::cloudformation`), started with the
//! artifacts bootstrap stack deploy creates from xtask's own template.

use std::ops::Deref;

pub use testkit::cloudformation::*;

/// [`testkit::cloudformation::FakeCloudFormation`] with xtask's bootstrap stack in place.
pub struct FakeCloudFormation(testkit::cloudformation::FakeCloudFormation);

impl FakeCloudFormation {
    pub fn start() -> FakeCloudFormation {
        FakeCloudFormation(testkit::cloudformation::FakeCloudFormation::start(
            xtask::aws::artifacts::BOOTSTRAP_TEMPLATE,
        ))
    }
}

impl Deref for FakeCloudFormation {
    type Target = testkit::cloudformation::FakeCloudFormation;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
