// The generated Swift API against the real Rust core, with Swift implementations of the platform
// services. Runs on macOS only (build-xcframework.sh first); on Linux, check.sh checks the bindings'
// syntax and symbols instead. Written against bindings/ffi/src: Fieldseal.open, status,
// deviceKeyId, devicePublicKey, signStatement, verifyStatement, records (RecordSession),
// verifyBundle; KeyVault and DeviceSigner; and FieldsealError's code()/messageZh()/messageEn() from
// fieldseal-core. The whole signing flow is exercised from Kotlin (RecordSigningTest.kt).

import CryptoKit
import FieldsealFFI
import Foundation
import XCTest

/// Stands in for the Keychain adapter: AES-GCM under a key the "platform" keeps.
final class MemoryKeyVault: KeyVault, @unchecked Sendable {
    private let key = SymmetricKey(size: .bits256)

    func wrapKey(key plain: Data) throws -> Data {
        guard let sealed = try? AES.GCM.seal(plain, using: key).combined else {
            throw PlatformError.Failed(reason: "AES-GCM seal failed")
        }
        return sealed
    }

    func unwrapKey(wrapped: Data) throws -> Data {
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: wrapped), using: key)
        } catch {
            throw PlatformError.Failed(reason: "not wrapped by this vault")
        }
    }
}

/// Stands in for the Keychain item that keeps the trail checkpoint: never moves backwards.
final class MemoryCheckpointStore: TrailCheckpointStore, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: TrailCheckpoint?

    func loadTrailCheckpoint() throws -> TrailCheckpoint? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func storeTrailCheckpoint(checkpoint: TrailCheckpoint) throws {
        lock.lock()
        defer { lock.unlock() }
        if let current = stored, current.counter > checkpoint.counter {
            throw PlatformError.Failed(reason: "the trail checkpoint only moves forward")
        }
        stored = checkpoint
    }
}

/// Stands in for the Secure Enclave adapter: P-256, answering in DER as SecKeyCreateSignature does.
final class CryptoKitSigner: DeviceSigner, @unchecked Sendable {
    private let key = P256.Signing.PrivateKey()

    func publicKey() throws -> Data {
        key.publicKey.x963Representation  // 0x04 ‖ x ‖ y, 65 bytes
    }

    func sign(message: Data) throws -> Data {
        try key.signature(for: message).derRepresentation
    }
}

/// The Chinese message is Chinese and the English one is not, as every FieldsealError's must be.
func XCTFail_unlessBilingual(_ error: FieldsealError, file: StaticString = #filePath, line: UInt = #line) {
    let chinese = error.messageZh().unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) }
    let english = !error.messageEn().isEmpty && !error.messageEn().unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) }
    if !chinese || !english {
        XCTFail("not explained in both languages: \(error.messageZh()) / \(error.messageEn())", file: file, line: line)
    }
}

final class FieldsealFFITests: XCTestCase {
    private var dataDir: URL!

    override func setUpWithError() throws {
        dataDir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dataDir)
    }

    func testOpenUsesTheSwiftSignerAsTheDeviceKey() throws {
        let signer = CryptoKitSigner()
        let fieldseal = try Fieldseal.open(dataDir: dataDir.path, keyVault: MemoryKeyVault(), signer: signer)
        let status = try fieldseal.status()
        XCTAssertEqual(status.deviceKeyId, try fieldseal.deviceKeyId())
        XCTAssertEqual(status.deviceKeyId.count, 32)
        XCTAssertEqual(try fieldseal.devicePublicKey(), try signer.publicKey())
    }

    func testWithACheckpointStoreTheTrailIsCheckpointedAndVerifies() throws {
        let checkpoint = MemoryCheckpointStore()
        let fieldseal = try Fieldseal.openWithCheckpoint(
            dataDir: dataDir.path, keyVault: MemoryKeyVault(), signer: CryptoKitSigner(), checkpoint: checkpoint)
        XCTAssertEqual(fieldseal.anchorStrength(), .checkpointed)
        let verification = try fieldseal.verifyTrail()
        XCTAssertTrue(verification.allGood)
        XCTAssertEqual(verification.anchorStrength, .checkpointed)
    }

    func testWithoutACheckpointStoreTheAnchorIsReportedWeaker() throws {
        let fieldseal = try Fieldseal.open(dataDir: dataDir.path, keyVault: MemoryKeyVault(), signer: CryptoKitSigner())
        let verification = try fieldseal.verifyTrail()
        XCTAssertEqual(verification.anchorStrength, .signedHeadsOnly)
        XCTAssertTrue(verification.anchorMessageZh.contains("锚定较弱"))
        XCTAssertTrue(verification.anchorMessageEn.contains("Anchor weaker"))
    }

    func testStatementSignedInDERVerifiesAndOneChangedCharacterFails() async throws {
        let signer = CryptoKitSigner()
        let fieldseal = try Fieldseal.open(dataDir: dataDir.path, keyVault: MemoryKeyVault(), signer: signer)
        let envelope = try await fieldseal.signStatement(
            payloadJson: #"{"type":"test.statement","v":1,"text":"以上笔录属实"}"#)

        let verified = try fieldseal.verifyStatement(envelopeJson: envelope, publicKey: try signer.publicKey())
        XCTAssertEqual(verified.payloadType, "test.statement")
        XCTAssertEqual(verified.keyId, try fieldseal.deviceKeyId())

        let tampered = envelope.replacingOccurrences(of: "以上笔录属实", with: "以上笔录不实")
        XCTAssertNotEqual(tampered, envelope)
        XCTAssertThrowsError(try fieldseal.verifyStatement(envelopeJson: tampered, publicKey: try signer.publicKey())) {
            guard let error = $0 as? FieldsealError, case .Integrity = error else {
                return XCTFail("expected Integrity, got \($0)")
            }
            // Code and messages read the same on every variant, without a switch.
            XCTAssertEqual(error.code(), "protocol.bad_signature")
            XCTFail_unlessBilingual(error)
        }
    }

    func testReopeningWithAnotherVaultKeyFailsAsKeyUnavailable() throws {
        let signer = CryptoKitSigner()
        do {
            let first = try Fieldseal.open(dataDir: dataDir.path, keyVault: MemoryKeyVault(), signer: signer)
            _ = try first.status()
        }
        XCTAssertThrowsError(try Fieldseal.open(dataDir: dataDir.path, keyVault: MemoryKeyVault(), signer: signer)) {
            guard case FieldsealError.KeyUnavailable = $0 else {
                return XCTFail("expected KeyUnavailable, got \($0)")
            }
        }
    }

    func testARecordSessionBeforeAnyRecordAndTheOfflineVerifierOnAFileThatIsNotABundle() async throws {
        let fieldseal = try Fieldseal.open(dataDir: dataDir.path, keyVault: MemoryKeyVault(), signer: CryptoKitSigner())
        let records = fieldseal.records(inspectionId: "no-such-inspection")
        XCTAssertEqual(records.inspectionId(), "no-such-inspection")
        XCTAssertNil(try records.record())

        // Verification never throws for a bad file: what failed is a check in the report.
        let notABundle = dataDir.appendingPathComponent("not-a-bundle.zip")
        try Data("以上笔录属实".utf8).write(to: notABundle)
        let report = try await fieldseal.verifyBundle(path: notABundle.path, trustedPublicKey: nil)
        XCTAssertFalse(report.verified)
        XCTAssertEqual(report.failed, 1)
        XCTAssertEqual(report.checks.first?.check, "bundle.structure")
        XCTAssertEqual(report.checks.first?.outcome, .failed)
    }
}
