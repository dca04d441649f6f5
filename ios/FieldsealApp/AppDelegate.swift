import FieldsealFFI
import UIKit

/// The app's launch hook (a SwiftUI `App` adopts it with `@UIApplicationDelegateAdaptor`): the
/// background sync handlers must be registered before launch ends, also when iOS launches the app
/// in the background only to run one of them.
final class AppDelegate: NSObject, UIApplicationDelegate {
    /// The installation's sync engine, made on first use by the app's composition root (the store
    /// opened with the Keychain vault and the Secure Enclave signer, the province's settings).
    static var engine: (@Sendable () throws -> SyncEngine)?

    func application(
        _ application: UIApplication,
        didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]? = nil
    ) -> Bool {
        BackgroundSync.shared.register {
            guard let engine = AppDelegate.engine else { throw BackgroundSyncError.notRegistered }
            return try engine()
        }
        return true
    }

    func applicationDidEnterBackground(_ application: UIApplication) {
        // Whatever the inspector captured last leaves the phone without waiting for the next refresh.
        BackgroundSync.shared.runSoon()
    }
}
