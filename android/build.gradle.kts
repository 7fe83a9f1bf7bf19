plugins {
    alias(libs.plugins.android.application) apply false
    alias(libs.plugins.android.library) apply false
    // AGP 9 compiles Kotlin itself (built-in Kotlin) with at least the
    // Kotlin it was released with; declaring the plugin here, unapplied,
    // raises that to the catalog's version, the one the Compose compiler
    // plugin must match. Applying it in a module fails under AGP 9.
    alias(libs.plugins.kotlin.android) apply false
    alias(libs.plugins.kotlin.compose) apply false
}
