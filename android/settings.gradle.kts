// The fieldseal Android app: a thin shell over the Rust core (bindings/kotlin).
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

rootProject.name = "fieldseal-android"

include(":app")
// The library module lives beside the Rust crate it wraps, so the bindings and the .so files it
// packages are built and versioned together (bindings/kotlin/build-android.sh).
include(":fieldseal")
project(":fieldseal").projectDir = file("../bindings/kotlin")
