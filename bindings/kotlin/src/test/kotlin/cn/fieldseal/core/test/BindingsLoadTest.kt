package cn.fieldseal.core.test

import cn.fieldseal.core.uniffiEnsureInitialized
import org.junit.Test

/**
 * The generated bindings find libfieldseal_ffi through JNA and agree with it on the UniFFI contract
 * version; every other test depends on this.
 */
class BindingsLoadTest {
    @Test
    fun generatedBindingsLoadTheNativeLibraryAndAgreeOnTheContractVersion() {
        // Runs the init blocks: Native.register + the contract-version check, which throws on mismatch.
        uniffiEnsureInitialized()
    }
}
