// Plugin versions for both modules. Not built on the CI machine (no Gradle, no Android SDK there);
// the versions are the ones this skeleton was written against.
plugins {
    id("com.android.application") version "8.13.0" apply false
    id("com.android.library") version "8.13.0" apply false
    id("org.jetbrains.kotlin.android") version "2.4.20" apply false
}
