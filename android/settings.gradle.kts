// PosKit for Android: :sdk is the AAR (the shared Kotlin API, the
// generated bindings, libposkit_ffi.so per ABI, Android devices), :app a
// thin Compose cashier on top. Build the native libraries and bindings
// first: scripts/build-android.sh (see docs/mobile.md).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "poskit-android"
include(":sdk", ":app")
