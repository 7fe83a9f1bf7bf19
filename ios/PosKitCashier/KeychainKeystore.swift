// The Keychain as the terminal's keystore: the store's data key is sealed
// with AES-256-GCM (CryptoKit) under a key kept in the Keychain, on this
// device only.
import CryptoKit
import Foundation
import PosKit
import Security

/// Wraps the terminal store's data key under a 256-bit key stored in the
/// Keychain as a generic password (`service`, `account`), created on the
/// first wrap and never synchronised or backed up off the device. A wrapped
/// key is CryptoKit's combined form: 12-byte nonce, ciphertext, 16-byte tag.
///
/// Deleting the app deletes nothing here, but restoring the phone from a
/// backup to another device leaves the key behind: the store on that device
/// cannot be opened (restore a PosKit backup instead).
final class KeychainKeystore: KeystoreDevice, @unchecked Sendable {
    private let service: String
    private let account: String
    private let lock = NSLock()

    init(service: String = "poskit", account: String = "store-kek") {
        self.service = service
        self.account = account
    }

    func wrap(dataKey: Data) throws -> Data {
        let key = try existingKey() ?? createKey()
        do {
            guard let combined = try AES.GCM.seal(dataKey, using: key).combined else {
                throw DeviceError.Failed(reason: "CryptoKit gave no combined box for a 12-byte nonce")
            }
            return combined
        } catch let error as DeviceError {
            throw error
        } catch {
            throw DeviceError.Failed(reason: "Could not wrap the data key: \(error.localizedDescription)")
        }
    }

    func unwrap(wrapped: Data) throws -> Data {
        guard let key = try existingKey() else {
            throw DeviceError.Failed(
                reason: "The Keychain key '\(account)' is gone: this store cannot be opened; restore a backup")
        }
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: wrapped), using: key)
        } catch {
            throw DeviceError.Failed(
                reason: "The data key was not wrapped under this device's Keychain key '\(account)', or is damaged")
        }
    }

    private var query: [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
    }

    private func existingKey() throws -> SymmetricKey? {
        var search = query
        search[kSecReturnData as String] = true
        search[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(search as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let bytes = item as? Data, bytes.count == 32 else {
                throw DeviceError.Failed(reason: "The Keychain item '\(account)' is no 256-bit key")
            }
            return SymmetricKey(data: bytes)
        case errSecItemNotFound:
            return nil
        default:
            throw DeviceError.Failed(reason: "The Keychain refused to read '\(account)' (OSStatus \(status))")
        }
    }

    private func createKey() throws -> SymmetricKey {
        lock.lock()
        defer { lock.unlock() }
        // Another thread may have created it meanwhile.
        if let key = try existingKey() { return key }
        let key = SymmetricKey(size: .bits256)
        var item = query
        item[kSecValueData as String] = key.withUnsafeBytes { Data($0) }
        // Readable once the phone was unlocked after boot (the terminal
        // finishes crash recovery in the background); never leaves it.
        item[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(item as CFDictionary, nil)
        guard status == errSecSuccess else {
            throw DeviceError.Failed(reason: "The Keychain refused to store '\(account)' (OSStatus \(status))")
        }
        return key
    }
}
