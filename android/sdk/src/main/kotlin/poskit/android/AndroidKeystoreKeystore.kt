// The Android Keystore as the terminal's keystore: the store's data key is
// wrapped under an AES-256-GCM key that never leaves the keystore (the TEE,
// or StrongBox where the device has one and it was asked for).
package poskit.android

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.security.GeneralSecurityException
import java.security.KeyStore
import java.security.ProviderException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import uniffi.poskit_ffi.DeviceException
import uniffi.poskit_ffi.KeystoreDevice

/**
 * Wraps the terminal store's data key with the AES-256-GCM key [alias] in
 * the Android Keystore, created on the first wrap. A wrapped key is the
 * 12-byte IV followed by the ciphertext and its 16-byte tag.
 *
 * The key goes with the app's data: after "clear data", a reinstall or a
 * factory reset the old store cannot be opened (restore a backup instead).
 * The terminal calls [wrap] and [unwrap] from its worker threads.
 */
class AndroidKeystoreKeystore(
    private val alias: String = "poskit-store-kek",
    /** Keep the key in a StrongBox secure element when the device has one (API 28+). */
    private val preferStrongBox: Boolean = false,
) : KeystoreDevice {
    override fun wrap(dataKey: ByteArray): ByteArray =
        guarded("wrap the data key") {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            // The keystore picks a fresh random IV for each encryption.
            cipher.init(Cipher.ENCRYPT_MODE, existingKey() ?: createKey())
            val iv = cipher.iv
            check(iv.size == IV_BYTES) { "the keystore chose a ${iv.size}-byte IV" }
            iv + cipher.doFinal(dataKey)
        }

    override fun unwrap(wrapped: ByteArray): ByteArray =
        guarded("unwrap the data key") {
            if (wrapped.size < IV_BYTES + TAG_BITS / 8) {
                throw DeviceException.Failed(
                    "The wrapped data key is ${wrapped.size} bytes, too short: the store's key file is damaged",
                )
            }
            val key =
                existingKey() ?: throw DeviceException.Failed(
                    "The keystore key '$alias' is gone (app data cleared or device reset): " +
                        "this store cannot be opened; restore a backup",
                )
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(TAG_BITS, wrapped, 0, IV_BYTES))
            cipher.doFinal(wrapped, IV_BYTES, wrapped.size - IV_BYTES)
        }

    private fun existingKey(): SecretKey? {
        val store = KeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }
        return (store.getEntry(alias, null) as? KeyStore.SecretKeyEntry)?.secretKey
    }

    private fun createKey(): SecretKey =
        synchronized(Companion) {
            // Another thread may have created it meanwhile.
            existingKey()?.let { return it }
            if (preferStrongBox && Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) {
                try {
                    return generate(strongBox = true)
                } catch (e: ProviderException) {
                    // StrongBoxUnavailableException: no secure element
                    // here, so the TEE holds the key instead.
                }
            }
            generate(strongBox = false)
        }

    private fun generate(strongBox: Boolean): SecretKey {
        val spec =
            KeyGenParameterSpec
                .Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .setRandomizedEncryptionRequired(true)
                .apply { if (strongBox && Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) setIsStrongBoxBacked(true) }
                .build()
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, ANDROID_KEYSTORE)
        generator.init(spec)
        return generator.generateKey()
    }

    /** Keystore failures become device errors that say what failed; never key bytes. */
    private inline fun <T> guarded(what: String, block: () -> T): T =
        try {
            block()
        } catch (e: DeviceException) {
            throw e
        } catch (e: javax.crypto.AEADBadTagException) {
            throw DeviceException.Failed(
                "Could not $what: it was not wrapped under this device's keystore key '$alias'",
            )
        } catch (e: GeneralSecurityException) {
            throw DeviceException.Failed("Could not $what in the Android Keystore: ${e.javaClass.simpleName}")
        } catch (e: ProviderException) {
            throw DeviceException.Failed("The Android Keystore failed to $what: ${e.javaClass.simpleName}")
        } catch (e: IllegalStateException) {
            throw DeviceException.Failed("Could not $what: ${e.message}")
        }

    private companion object {
        const val ANDROID_KEYSTORE = "AndroidKeyStore"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_BYTES = 12
        const val TAG_BITS = 128
    }
}
