// fieldseal Android library: the UniFFI-generated Kotlin bindings plus libfieldseal_ffi.so for each ABI.
//
// Inputs are produced by build-android.sh (needs the Android NDK and cargo-ndk):
//   build/generated/uniffi/kotlin/cn/fieldseal/{core/fieldseal_core.kt,ffi/fieldseal_ffi.kt}   generated with android = true
//   src/main/jniLibs/{arm64-v8a,armeabi-v7a,x86_64}/libfieldseal_ffi.so
// Neither is committed. The same bindings, generated for a plain JVM, are tested by run-tests.sh.
//
// Plugin versions come from the including build (android/settings.gradle.kts + android/build.gradle.kts).
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "cn.fieldseal.core"
    compileSdk = 36

    defaultConfig {
        // Android 8.0: AndroidKeyStore AES-GCM and EC P-256 signing are solid from here on.
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
        ndk {
            abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64")
        }
    }

    sourceSets {
        getByName("main") {
            java.srcDir(layout.buildDirectory.dir("generated/uniffi/kotlin"))
            jniLibs.srcDir("src/main/jniLibs")
        }
    }

    buildTypes {
        release {
            // The app shrinks; the library only ships keep rules (consumer-rules.pro).
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    packaging {
        jniLibs {
            // The Rust library is stripped by the release profile; keep it as built.
            keepDebugSymbols += "**/libfieldseal_ffi.so"
        }
    }

    testOptions {
        // The android = true bindings read Build.VERSION on the host; stubs answer 0 → JNA cleaner.
        unitTests.isReturnDefaultValues = true
        unitTests.all {
            // Host unit tests load the host build of the library (cargo build -p fieldseal-ffi).
            it.systemProperty("jna.library.path", rootProject.file("../target/debug").absolutePath)
        }
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // The AAR carries libjnidispatch.so for every Android ABI; the plain jar does not.
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.10.2")
    // android = true bindings annotate the SystemCleaner path with @RequiresApi.
    implementation("androidx.annotation:annotation:1.9.1")

    testImplementation("net.java.dev.jna:jna:5.17.0")
    testImplementation("junit:junit:4.13.2")
    testImplementation("org.jetbrains.kotlin:kotlin-test-junit")
    testImplementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.10.2")
}
