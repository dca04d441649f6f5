package cn.fieldseal.core.test

import org.junit.Test

/**
 * The generated bindings find libfieldseal_ffi through JNA and agree with it on the UniFFI contract
 * version, for both generated files (the core's types and the FFI's objects live in one library);
 * every other test depends on this.
 */
class BindingsLoadTest {
    @Test
    fun generatedBindingsLoadTheNativeLibraryAndAgreeOnTheContractVersion() {
        // Runs the init blocks: Native.register + the contract-version check, which throws on mismatch.
        cn.fieldseal.core.uniffiEnsureInitialized()
        cn.fieldseal.ffi.uniffiEnsureInitialized()
    }
}
