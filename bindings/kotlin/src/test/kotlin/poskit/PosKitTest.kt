package poskit

import javax.crypto.Cipher
import javax.crypto.spec.SecretKeySpec
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import uniffi.poskit_ffi.PosKitException
import uniffi.poskit_ffi.decodeTlv
import uniffi.poskit_ffi.decryptPinBlock
import uniffi.poskit_ffi.encryptPinBlock
import uniffi.poskit_ffi.keyCheckValue
import uniffi.poskit_ffi.retailMac

private fun hex(s: String): ByteArray = s.replace(" ", "").chunked(2).map { it.toInt(16).toByte() }.toByteArray()

private fun ByteArray.hex(): String = joinToString("") { "%02X".format(it) }

/** The classic double-length test key. */
private const val KEY = "0123456789ABCDEFFEDCBA9876543210"
private const val PAN = "4012345678909"

class TlvTest {
    @Test
    fun `an FCI decodes into its template tree`() {
        // 6F { 84 AID, A5 { 50 "VISA", 87 priority, 9F38 PDOL } }
        val fci = hex("6F 1A 84 07 A0 00 00 00 03 10 10 A5 0F 50 04 56 49 53 41 87 01 01 9F 38 03 9F 1A 02")

        val roots = decodeTlv(fci)

        assertEquals(1, roots.size)
        val root = roots[0]
        assertEquals("6F", root.tag)
        assertTrue(root.constructed)
        assertEquals(0, root.value.size)
        assertEquals(listOf("84", "A5"), root.children.map { it.tag })
        assertEquals("A0000000031010", root.children[0].value.hex())
        val a5 = root.children[1]
        assertEquals(listOf("50", "87", "9F38"), a5.children.map { it.tag })
        assertEquals("VISA", a5.children[0].value.decodeToString())
        assertEquals("01", a5.children[1].value.hex())
        assertEquals("9F1A02", a5.children[2].value.hex())
        assertTrue(a5.children.none { it.constructed || it.children.isNotEmpty() })
    }

    @Test
    fun `truncated PAN object is MalformedData with code 1100 and no card digits`() {
        // 5A (PAN) announces 5 bytes; only 12 34 follow.
        val e = assertThrows<PosKitException.MalformedData> { decodeTlv(hex("5A 05 12 34")) }

        assertEquals(1100, e.errorCode)
        assertEquals(1100u, e.code())
        assertTrue(e.reason.contains("byte 0"), e.reason)
        assertFalse(e.reason.contains("1234") || e.reason.contains("12 34"), e.reason)
    }
}

class CryptoTest {
    @Test
    fun `KCV of the classic TDES test key is 08D7B4`() {
        assertEquals("08D7B4", keyCheckValue(hex(KEY), false).hex())
    }

    @Test
    fun `format 0 PIN block round trips and matches the ANSI X9_24 clear block`() {
        val block = encryptPinBlock(0u, "1234", PAN, hex(KEY))

        // Decrypted independently with the JDK's DESede (K1 K2 K1), the
        // block is the X9.24-1 Annex A clear block for PIN 1234 and this PAN.
        val jce = Cipher.getInstance("DESede/ECB/NoPadding")
        jce.init(Cipher.DECRYPT_MODE, SecretKeySpec(hex(KEY + KEY.substring(0, 16)), "DESede"))
        assertEquals("041274EDCBA9876F", jce.doFinal(block).hex())
        assertEquals("C03D21CDBCB0C58B", block.hex())

        assertEquals("1234", decryptPinBlock(0u, block, PAN, hex(KEY)))
    }

    @Test
    fun `retail MAC matches ISO 9797-1 Annex B`() {
        val mac = retailMac(hex(KEY), "Now is the time for all ".encodeToByteArray())
        assertEquals("A1C72E74EA3FA9B6", mac.hex())
    }

    @Test
    fun `a 10-byte key is InvalidKey with code 1001`() {
        val e = assertThrows<PosKitException.InvalidKey> { keyCheckValue(ByteArray(10) { 0xAB.toByte() }, false) }

        assertEquals(1001, e.errorCode)
        assertEquals("TDES key must be 16 or 24 bytes, got 10", e.reason)
    }

    @Test
    fun `a short PAN is InvalidPan and the error does not repeat it`() {
        val pan = "40123456789"
        val e = assertThrows<PosKitException.InvalidPan> { encryptPinBlock(0u, "1234", pan, hex(KEY)) }

        assertEquals(1003, e.errorCode)
        assertFalse(e.reason.contains(pan), e.reason)
        assertFalse(e.message.orEmpty().contains(pan))
    }

    @Test
    fun `the wrong PAN does not decode the block`() {
        val block = encryptPinBlock(0u, "1234", PAN, hex(KEY))
        val e = assertThrows<PosKitException> { decryptPinBlock(0u, block, "5413330089020011", hex(KEY)) }

        assertEquals(1004, e.errorCode)
        assertFalse(e.reason.contains("5413330089020011"))
    }
}
