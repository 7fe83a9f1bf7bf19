// The PosKit AAR. Its Kotlin is the shared API of bindings/kotlin (the same
// sources the JVM tests run) plus the bindings UniFFI generates, plus the
// Android devices under src/main/kotlin. libposkit_ffi.so comes from
// scripts/build-android.sh into src/main/jniLibs/<abi>/, which also
// regenerates the bindings.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.library)
}

val bindings: File = rootProject.file("../bindings/kotlin")

android {
    namespace = "poskit.android"
    compileSdk = 37

    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets {
        getByName("main") {
            kotlin.srcDir(bindings.resolve("src/main/kotlin"))
            kotlin.srcDir(bindings.resolve("target/generated-sources/uniffi"))
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

// A missing native library or missing bindings would otherwise surface as
// an UnsatisfiedLinkError or unresolved references much later.
val checkNative by tasks.registering {
    val jniLibs = file("src/main/jniLibs")
    val generated = bindings.resolve("target/generated-sources/uniffi/uniffi/poskit_ffi/poskit_ffi.kt")
    doLast {
        val libs = jniLibs.listFiles().orEmpty().filter { it.resolve("libposkit_ffi.so").isFile }
        check(libs.isNotEmpty()) { "No libposkit_ffi.so under $jniLibs/<abi>: run scripts/build-android.sh" }
        check(generated.isFile) { "No generated bindings at $generated: run scripts/build-android.sh" }
    }
}
tasks.named("preBuild") { dependsOn(checkNative) }

dependencies {
    // The generated code calls the library through JNA and awaits its
    // async calls with coroutines; apps use both through the API.
    api("net.java.dev.jna:jna:${libs.versions.jna.get()}@aar")
    api(libs.kotlinx.coroutines.android)
}
