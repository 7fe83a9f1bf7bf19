//! Named points in every write path where a fault-injection test may kill
//! the process (DESIGN, Testing: "kill the process at every journal write
//! point"). Each write passes its points in order: before the transaction,
//! between its statements, before the commit and after it. In builds
//! without test support the points compile to nothing.

#[cfg(any(test, feature = "testing"))]
pub(crate) type Hook = Box<dyn FnMut(&'static str) + Send>;

#[derive(Default)]
pub(crate) struct WritePoints {
    #[cfg(any(test, feature = "testing"))]
    pub(crate) hook: Option<Hook>,
}

impl WritePoints {
    #[inline]
    pub(crate) fn hit(&mut self, _name: &'static str) {
        #[cfg(any(test, feature = "testing"))]
        if let Some(hook) = self.hook.as_mut() {
            hook(_name);
        }
    }
}

#[cfg(any(test, feature = "testing"))]
impl crate::Store {
    /// Test support: calls `hook` with the name of every write point the
    /// store passes from now on. The crash tests abort the process in it.
    pub fn set_write_hook(&mut self, hook: impl FnMut(&'static str) + Send + 'static) {
        self.points.hook = Some(Box::new(hook));
    }
}
