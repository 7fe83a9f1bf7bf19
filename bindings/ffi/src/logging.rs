//! Where the core's `log` records go. On Android they go to logcat
//! (tag `PosKit`); elsewhere the host app installs its own `log` backend,
//! or the records are dropped. Records never carry card data (DESIGN
//! rule 5), so routing them anywhere is safe.

/// Routes the core's logs to the platform log. Call once at start; later
/// calls change nothing.
#[uniffi::export]
pub fn init_logging(verbose: bool) {
    #[cfg(target_os = "android")]
    {
        let level = if verbose {
            log::LevelFilter::Debug
        } else {
            log::LevelFilter::Info
        };
        android_logger::init_once(
            android_logger::Config::default()
                .with_tag("PosKit")
                .with_max_level(level),
        );
    }
    #[cfg(not(target_os = "android"))]
    {
        let level = if verbose {
            log::LevelFilter::Debug
        } else {
            log::LevelFilter::Info
        };
        // Without a backend installed by the app this only sets the
        // ceiling; with one, it takes effect.
        log::set_max_level(level);
    }
}
