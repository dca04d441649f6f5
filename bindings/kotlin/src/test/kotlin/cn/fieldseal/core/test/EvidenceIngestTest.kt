package cn.fieldseal.core.test

import cn.fieldseal.core.*
import cn.fieldseal.ffi.*
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.awt.image.BufferedImage
import java.io.ByteArrayOutputStream
import java.io.File
import java.security.MessageDigest
import java.time.LocalDate
import java.time.OffsetDateTime
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter
import java.util.Collections
import java.util.Random
import javax.imageio.ImageIO
import kotlin.math.PI
import kotlin.math.abs
import kotlin.math.asin
import kotlin.math.cos
import kotlin.math.sin
import kotlin.math.sqrt

/**
 * 证据固定 — sealing a capture through the generated bindings: a real JPEG with real EXIF (assembled
 * here byte by byte, independently of the Rust fixtures), signed by the Kotlin ES256 signer, flagged,
 * counted on its checklist item, verifiable, viewable, and refused without leaving anything behind.
 */
class EvidenceIngestTest {
    @get:Rule val tmp = TemporaryFolder()

    private val today: LocalDate = LocalDate.now()
    private val signer = EcDeviceSigner()
    private val vault = AesGcmKeyVault()

    private fun openStore() = Fieldseal.open(File(tmp.root, "data").path, vault, signer)

    private val repoRoot: File by lazy {
        generateSequence(File(System.getProperty("user.dir")).absoluteFile) { it.parentFile }
            .firstOrNull { File(it, "examples/register.json").isFile }
            ?: error("examples/register.json not found above ${System.getProperty("user.dir")}")
    }

    private fun example(path: String) = File(repoRoot, path).readText()

    /** A draft inspection of the chemical plant with the hazardous-waste template; returns it and a team valid today. */
    private fun Fieldseal.draftInspection(): Pair<InspectionSession, List<String>> {
        importRegister(example("examples/register.json"))
        importTemplate(example("examples/templates/hazardous-waste-storage.json"))
        val team =
            registerInspectors()
                .filter {
                    it.certified && !LocalDate.parse(it.validFrom).isAfter(today) &&
                        !LocalDate.parse(it.validUntil).isBefore(today)
                }.take(2)
                .map { it.id }
        assertEquals("examples/register.json needs two certificates valid today", 2, team.size)
        val session =
            createInspection(
                Task(
                    id = "T-2025-HW-0002",
                    title = "危险废物贮存设施专项检查",
                    source = TaskSource.CAMPAIGN,
                    enterpriseId = "ent-chem",
                    templateId = "tpl.hazardous-waste.storage",
                    plannedDate = today.toString(),
                ),
            )
        return session to team
    }

    /** The same inspection walked to 现场记录 (recording) through the InspectionSession API. */
    private fun Fieldseal.recordingInspection(): Pair<InspectionSession, List<String>> {
        val (session, team) = draftInspection()
        session.approve("科长 王立")
        session.schedule(today.toString())
        session.assignInspectors(team)
        session.prepareOffline()
        session.checkIn(Location(lat = 30.6049, lon = 121.0991, accuracyM = 8.0, provider = "gps", mocked = false))
        session.showCredentials("电子执法证二维码")
        session.answerRecusal(false, null)
        assertEquals(InspectionState.RECORDING, session.startRecording())
        return session to team
    }

    private fun InspectionSession.firstItem(): String = checklist().sections.flatMap { it.items }.first { it.visible }.id

    private fun InspectionSession.evidenceCount(item: String): UInt =
        checklist().sections.flatMap { it.items }.single { it.id == item }.evidenceCount

    /** A capture file in the app's private capture folder. */
    private fun captureFile(name: String, bytes: ByteArray): File =
        File(tmp.root, "captures").apply { mkdirs() }.resolve(name).apply { writeBytes(bytes) }

    private fun request(
        source: File,
        inspectionId: String,
        operator: String,
        itemId: String? = null,
        wallClock: String = CAPTURED_AT.format(DateTimeFormatter.ISO_OFFSET_DATE_TIME),
    ) = IngestRequest(
        sourcePath = source.path,
        inspectionId = inspectionId,
        itemId = itemId,
        kind = EvidenceKind.PHOTO,
        operator = operator,
        location = FAR_MOCKED_FIX,
        clock = CaptureClock(wallClock = wallClock, monotonicMs = 7_200_000uL, serverOffsetMs = 120L),
        appVersion = "0.1.0-kotlin-test",
    )

    /** Records every progress call, from whichever thread the core makes it on. */
    private class RecordingListener(val onCall: (ULong, ULong) -> Unit = { _, _ -> }) : IngestListener {
        val calls: MutableList<Pair<ULong, ULong>> = Collections.synchronizedList(mutableListOf())

        override fun onProgress(done: ULong, total: ULong) {
            calls += done to total
            onCall(done, total)
        }
    }

    private fun EvidenceIngest.ingestBlocking(
        request: IngestRequest,
        listener: IngestListener? = null,
        cancel: CancelHandle = CancelHandle(),
    ) = runBlocking { ingest(request, listener, cancel) }

    private fun sha256Hex(bytes: ByteArray) = MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }

    @Test
    fun `a photo with real EXIF is sealed by the Kotlin signer, flagged mocked and outside the site, and verifies`() {
        openStore().use { store ->
            val (session, team) = store.recordingInspection()
            val item = session.firstItem()
            val bytes = ExifJpeg.photo()
            val source = captureFile("IMG_20250318_093015.jpg", bytes)
            val listener = RecordingListener()
            val evidence = store.evidence()
            val signaturesBefore = signer.signCalls

            val sealed = evidence.ingestBlocking(request(source, session.id(), team[0], item), listener)

            val manifest = sealed.manifest
            assertEquals("the hash is of the original bytes", sha256Hex(bytes), manifest.sha256)
            assertEquals(bytes.size.toULong(), manifest.size)
            assertEquals(MediaType.JPEG, manifest.mediaType)
            assertTrue("the Kotlin signer signed the manifest", signer.signCalls > signaturesBefore)
            assertFalse("a mocked fix far from the site cannot prove presence", manifest.supportsPresence)
            assertTrue(sealed.sourceRemoved && !sealed.alreadySealed && sealed.hasThumbnail)
            assertFalse("the plaintext source is removed once sealed", source.exists())

            // Progress: bytes of this file, never backwards, ending exactly at the total.
            val calls = listener.calls.toList()
            assertTrue("the listener was called", calls.isNotEmpty())
            assertTrue(calls.all { (_, total) -> total == bytes.size.toULong() })
            assertEquals(calls.map { it.first }.sorted(), calls.map { it.first })
            assertEquals(bytes.size.toULong() to bytes.size.toULong(), calls.last())

            // The flags, read back from the detail: exactly the two this capture deserves.
            val detail = evidence.detail(sealed.evidenceId)
            val flags = detail.item.flags
            assertEquals("flags: $flags", 2, flags.size)
            assertTrue(CaptureFlag.MockedLocation in flags)
            val outside = flags.filterIsInstance<CaptureFlag.OutsideSite>().single()
            val expected = haversineM(FAR_MOCKED_FIX.lat, FAR_MOCKED_FIX.lon, SITE_LAT, SITE_LON) - SITE_RADIUS_M
            assertEquals("distance to the site's boundary", expected, outside.distanceM, expected * 0.005)
            assertEquals(outside.distanceM, detail.manifest.distanceToSiteM!!, 0.1)
            assertEquals(manifest.flags, flags)
            // Each flag comes with text for the reviewer's screen, naming the distance it measured.
            val mockedText = captureFlagMessage(CaptureFlag.MockedLocation)
            assertEquals("mocked_location", mockedText.code)
            assertTrue(mockedText.messageZh, mockedText.messageZh.contains("模拟"))
            val outsideText = captureFlagMessage(outside)
            assertTrue(outsideText.messageEn, outsideText.messageEn.contains("%.0f m".format(outside.distanceM)))

            // The EXIF written here comes back as the camera's own record.
            val exif = detail.manifest.exif ?: throw AssertionError("the EXIF written here was not read back")
            assertEquals("HUAWEI", exif.make)
            assertEquals("ELS-AN00", exif.model)
            assertEquals(1.toUByte(), exif.orientation)
            assertEquals(CAPTURED_AT.format(DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss")), exif.dateTimeOriginal)
            assertEquals(480, exif.offsetMinutes)
            val gps = exif.gps!!
            assertEquals(FAR_MOCKED_FIX.lat, gps.lat!!, 1e-6)
            assertEquals(FAR_MOCKED_FIX.lon, gps.lon!!, 1e-6)
            assertEquals(12.5, gps.altitudeM!!, 1e-6)

            // Everything else a detail screen draws.
            assertEquals(manifest.sha256, detail.manifest.sha256)
            assertEquals(team[0], detail.manifest.operator)
            assertEquals(session.id(), detail.manifest.inspectionId)
            assertEquals(item, detail.item.itemId)
            assertEquals(store.deviceKeyId(), detail.manifest.deviceKeyId)
            val location = detail.manifest.location!!
            assertEquals(FAR_MOCKED_FIX, location.copy(fixTime = FAR_MOCKED_FIX.fixTime))
            assertEquals(OffsetDateTime.parse(FAR_MOCKED_FIX.fixTime).toInstant(), OffsetDateTime.parse(location.fixTime).toInstant())
            assertEquals(7_200_000uL, detail.manifest.captured.monotonicMs)
            assertEquals(120L, detail.manifest.captured.serverOffsetMs)
            assertEquals(CAPTURED_AT.toInstant(), OffsetDateTime.parse(detail.manifest.captured.wallClock).toInstant())
            val gcj = detail.mapPositionGcj02!!
            val shift = haversineM(FAR_MOCKED_FIX.lat, FAR_MOCKED_FIX.lon, gcj.lat, gcj.lon)
            assertTrue("GCJ-02 is shifted by a few hundred metres in Hangzhou, not $shift m", shift in 100.0..1000.0)
            assertNotNull("the manifest binds the thumbnail", detail.manifest.thumbnailSha256)
            assertTrue(detail.envelopeJson.contains(manifest.sha256))

            // Verification against the device key; the listing; the checklist item's count.
            val verified = runBlocking { evidence.verify(sealed.evidenceId) }
            assertEquals(manifest.sha256, verified.manifest.sha256)
            assertEquals(store.deviceKeyId(), verified.manifest.deviceKeyId)
            val listed = evidence.list(session.id()).single()
            assertEquals(sealed.evidenceId, listed.evidenceId)
            assertEquals(item, listed.itemId)
            assertEquals(EvidenceKind.PHOTO, listed.kind)
            assertEquals(1u, session.evidenceCount(item))
            assertTrue("evidence.sealed" in session.trail().map { it.kind })
        }
    }

    @Test
    fun `cancelling before the start is Cancelled and keeps the file`() {
        openStore().use { store ->
            val (session, team) = store.recordingInspection()
            val bytes = ExifJpeg.photo()
            val source = captureFile("IMG_0002.jpg", bytes)
            val cancel = CancelHandle().apply { cancel() }
            assertTrue(cancel.isCancelled())
            assertFails<FieldsealException.Cancelled>("evidence.cancelled") {
                store.evidence().ingestBlocking(request(source, session.id(), team[0]), cancel = cancel)
            }
            assertArrayEquals("the input is kept for a retry", bytes, source.readBytes())
            assertTrue(store.evidence().list(session.id()).isEmpty())

            // The same file then goes through with a fresh handle.
            store.evidence().ingestBlocking(request(source, session.id(), team[0]))
            assertEquals(1, store.evidence().list(session.id()).size)
        }
    }

    @Test
    fun `cancelling from the progress listener stops a running ingest and stores nothing`() {
        openStore().use { store ->
            val (session, team) = store.recordingInspection()
            val item = session.firstItem()
            val bytes = ExifJpeg.photo(width = 2400, height = 1800, noise = true)
            assertTrue("big enough to be read in several chunks: ${bytes.size}", bytes.size > 1_000_000)
            val source = captureFile("IMG_0003.jpg", bytes)
            val cancel = CancelHandle()
            val listener = RecordingListener { _, _ -> cancel.cancel() }
            assertFails<FieldsealException.Cancelled>("evidence.cancelled") {
                store.evidence().ingestBlocking(request(source, session.id(), team[0], item), listener, cancel)
            }
            val (done, total) = listener.calls.first()
            assertTrue("cancelled part way: $done of $total", total > done)
            assertArrayEquals(bytes, source.readBytes())
            assertTrue(store.evidence().list(session.id()).isEmpty())
            assertEquals("no count without its capture", 0u, session.evidenceCount(item))
        }
    }

    @Test
    fun `a zero-byte file is InvalidInput and kept`() {
        openStore().use { store ->
            val (session, team) = store.recordingInspection()
            val source = captureFile("IMG_0004.jpg", ByteArray(0))
            val e =
                assertFails<FieldsealException.InvalidInput>("evidence.empty_file") {
                    store.evidence().ingestBlocking(request(source, session.id(), team[0]))
                }
            assertEquals("source", e.field)
            assertTrue("the empty file is kept", source.exists())
            assertTrue(store.evidence().list(session.id()).isEmpty())
        }
    }

    @Test
    fun `a capture for an inspection still in draft is NotAllowed and the file kept`() {
        openStore().use { store ->
            val (session, team) = store.draftInspection()
            val bytes = ExifJpeg.photo()
            val source = captureFile("IMG_0005.jpg", bytes)
            val e =
                assertFails<FieldsealException.NotAllowed>("evidence.not_capturing") {
                    store.evidence().ingestBlocking(request(source, session.id(), team[0]))
                }
            assertTrue(e.rule.isNotBlank())
            assertArrayEquals(bytes, source.readBytes())
            assertTrue(store.evidence().list(session.id()).isEmpty())
            assertEquals(InspectionState.DRAFT, session.state())
        }
    }

    @Test
    fun `a wall clock without its UTC offset is InvalidInput naming the form`() {
        openStore().use { store ->
            val (session, team) = store.recordingInspection()
            val source = captureFile("IMG_0006.jpg", ExifJpeg.photo())
            val e =
                assertFails<FieldsealException.InvalidInput>("input.malformed") {
                    store.evidence().ingestBlocking(request(source, session.id(), team[0], wallClock = "2025-03-18T09:30:15"))
                }
            // The binding's time converter refuses it before the core runs; the message names the form.
            assertEquals("time", e.field)
            assertTrue(e.messageEn(), e.messageEn().contains("RFC 3339"))
            assertTrue(source.exists())
        }
    }

    @Test
    fun `viewing copies decrypt to the sealed bytes, are released, and do not survive a restart`() {
        val bytes = ExifJpeg.photo()
        val opened =
            openStore().use { store ->
                val (session, team) = store.recordingInspection()
                val evidence = store.evidence()
                val sealed = evidence.ingestBlocking(request(captureFile("IMG_0007.jpg", bytes), session.id(), team[0]))

                val original = File(runBlocking { evidence.openForViewing(sealed.evidenceId) })
                assertArrayEquals("the viewing copy is the original, byte for byte", bytes, original.readBytes())
                evidence.releaseView(original.path)
                assertFalse(original.exists())

                val thumbnail = File(evidence.thumbnail(sealed.evidenceId)!!)
                val image = ImageIO.read(thumbnail)
                assertNotNull("the thumbnail is a JPEG", image)
                assertTrue("the thumbnail is reduced", 320 >= image.width && ExifJpeg.WIDTH > image.width)
                assertEquals(thumbnail.path, evidence.list(session.id()).single().thumbnailPath)

                // A path that is not a viewing copy is refused, so a bug cannot delete other files.
                val elsewhere = captureFile("keep-me.txt", "x".toByteArray())
                assertFails<FieldsealException.InvalidInput> { evidence.releaseView(elsewhere.path) }
                assertTrue(elsewhere.exists())

                val stillOpen = File(runBlocking { evidence.openForViewing(sealed.evidenceId) })
                Pair(sealed.evidenceId, listOf(thumbnail, stillOpen))
            }
        val (evidenceId, copies) = opened
        assertTrue(copies.all { it.exists() })
        openStore().use { store ->
            assertTrue("plaintext copies are gone after a restart", copies.none { it.exists() })
            runBlocking { store.evidence().verify(evidenceId) }
            assertEquals("nothing left to clear after the startup sweep", 0uL, store.evidence().clearViews())
        }
    }

    private companion object {
        /** The chemical plant's registered site in examples/register.json. */
        const val SITE_LAT = 30.6052
        const val SITE_LON = 121.0987
        const val SITE_RADIUS_M = 450.0

        /** Taken now, to the second, in China Standard Time. */
        val CAPTURED_AT: OffsetDateTime = OffsetDateTime.now(ZoneOffset.ofHours(8)).withNano(0)

        /** A mocked fix in Hangzhou, about 100 km from the plant; the photo's EXIF GPS agrees with it. */
        val FAR_MOCKED_FIX =
            LocationFix(
                lat = 30.2741,
                lon = 120.1551,
                altitudeM = 12.5,
                accuracyM = 5.0,
                provider = "gps",
                fixTime = CAPTURED_AT.minusSeconds(2).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME),
                mocked = true,
                satellites = 14u,
            )

        fun haversineM(lat1: Double, lon1: Double, lat2: Double, lon2: Double): Double {
            val r = 6_371_008.8
            val (p1, p2) = lat1 * PI / 180 to lat2 * PI / 180
            val dp = p2 - p1
            val dl = (lon2 - lon1) * PI / 180
            val h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2)
            return 2 * r * asin(sqrt(h))
        }
    }

    /**
     * A JPEG as a phone camera writes it: the image from javax.imageio, and an APP1 EXIF segment built
     * here by hand (big-endian TIFF; IFD0 with Make, Model, Orientation and the Exif and GPS pointers;
     * the Exif IFD with DateTimeOriginal and OffsetTimeOriginal; the GPS IFD with position and altitude).
     */
    private object ExifJpeg {
        const val WIDTH = 640
        private const val BYTE = 1
        private const val ASCII = 2
        private const val SHORT = 3
        private const val LONG = 4
        private const val RATIONAL = 5

        private class Entry(val tag: Int, val type: Int, val count: Int, val value: ByteArray)

        fun photo(width: Int = WIDTH, height: Int = 480, noise: Boolean = false): ByteArray {
            val image = BufferedImage(width, height, BufferedImage.TYPE_INT_RGB)
            val random = Random(42)
            for (y in 0 until height) {
                for (x in 0 until width) {
                    val rgb = if (noise) random.nextInt(0xFFFFFF) else ((x * 255 / width) shl 16) or ((y * 255 / height) shl 8) or 0x40
                    image.setRGB(x, y, rgb)
                }
            }
            val jpeg = ByteArrayOutputStream().also { assertTrue(ImageIO.write(image, "jpg", it)) }.toByteArray()
            return withApp1(jpeg, tiff())
        }

        private fun tiff(): ByteArray {
            val fix = FAR_MOCKED_FIX
            val local = CAPTURED_AT.toLocalDateTime().format(DateTimeFormatter.ofPattern("yyyy:MM:dd HH:mm:ss"))
            val exifIfd = listOf(ascii(0x9003, local), ascii(0x9011, "+08:00"))
            val gpsIfd =
                listOf(
                    Entry(0x0000, BYTE, 4, byteArrayOf(2, 3, 0, 0)),
                    ascii(0x0001, if (fix.lat >= 0) "N" else "S"),
                    rationals(0x0002, *dms(abs(fix.lat))),
                    ascii(0x0003, if (fix.lon >= 0) "E" else "W"),
                    rationals(0x0004, *dms(abs(fix.lon))),
                    Entry(0x0005, BYTE, 1, byteArrayOf(0, 0, 0, 0)),
                    rationals(0x0006, 125L to 10L),
                    rationals(0x001F, 5L to 1L),
                )
            fun ifd0(exifAt: Int, gpsAt: Int) =
                listOf(
                    ascii(0x010F, "HUAWEI"),
                    ascii(0x0110, "ELS-AN00"),
                    Entry(0x0112, SHORT, 1, be16(1) + byteArrayOf(0, 0)),
                    Entry(0x8769, LONG, 1, be32(exifAt.toLong())),
                    Entry(0x8825, LONG, 1, be32(gpsAt.toLong())),
                )
            val ifd0At = 8
            val exifAt = ifd0At + ifdSize(ifd0(0, 0))
            val gpsAt = exifAt + ifdSize(exifIfd)
            val out = ByteArrayOutputStream()
            out.write("MM".toByteArray() + be16(42) + be32(ifd0At.toLong()))
            out.write(ifd(ifd0At, ifd0(exifAt, gpsAt)))
            out.write(ifd(exifAt, exifIfd))
            out.write(ifd(gpsAt, gpsIfd))
            return out.toByteArray()
        }

        /** Degrees, minutes and seconds as rationals; seconds to 1/10000. */
        private fun dms(deg: Double): Array<Pair<Long, Long>> {
            val d = deg.toLong()
            val m = ((deg - d) * 60).toLong()
            val s = Math.round((deg - d - m / 60.0) * 3600 * 10_000)
            return arrayOf(d to 1L, m to 1L, s to 10_000L)
        }

        private fun ascii(tag: Int, text: String): Entry {
            val bytes = text.toByteArray(Charsets.US_ASCII) + 0.toByte()
            return Entry(tag, ASCII, bytes.size, bytes)
        }

        private fun rationals(tag: Int, vararg values: Pair<Long, Long>) =
            Entry(tag, RATIONAL, values.size, values.fold(ByteArray(0)) { acc, (n, d) -> acc + be32(n) + be32(d) })

        private fun outOfLine(e: Entry) = if (e.value.size > 4) e.value.size + e.value.size % 2 else 0

        private fun ifdSize(entries: List<Entry>) = 2 + 12 * entries.size + 4 + entries.sumOf { outOfLine(it) }

        /** One IFD at offset [at]: entries sorted by tag, then the values that do not fit in 4 bytes. */
        private fun ifd(at: Int, entries: List<Entry>): ByteArray {
            val sorted = entries.sortedBy { it.tag }
            val out = ByteArrayOutputStream()
            val data = ByteArrayOutputStream()
            var dataAt = at + 2 + 12 * sorted.size + 4
            out.write(be16(sorted.size))
            for (e in sorted) {
                out.write(be16(e.tag) + be16(e.type) + be32(e.count.toLong()))
                if (e.value.size <= 4) {
                    out.write(e.value + ByteArray(4 - e.value.size))
                } else {
                    out.write(be32(dataAt.toLong()))
                    data.write(e.value)
                    if (e.value.size % 2 == 1) data.write(0)
                    dataAt += outOfLine(e)
                }
            }
            out.write(be32(0))
            out.write(data.toByteArray())
            return out.toByteArray()
        }

        /** SOI, then APP1 "Exif\0\0" + TIFF, then the rest of the encoder's JPEG. */
        private fun withApp1(jpeg: ByteArray, tiff: ByteArray): ByteArray {
            check(jpeg[0] == 0xFF.toByte() && jpeg[1] == 0xD8.toByte()) { "not a JPEG" }
            val payload = "Exif".toByteArray() + byteArrayOf(0, 0) + tiff
            check(payload.size + 2 <= 0xFFFF)
            val segment = byteArrayOf(0xFF.toByte(), 0xE1.toByte()) + be16(payload.size + 2) + payload
            return jpeg.copyOfRange(0, 2) + segment + jpeg.copyOfRange(2, jpeg.size)
        }

        private fun be16(v: Int) = byteArrayOf((v shr 8).toByte(), v.toByte())

        private fun be32(v: Long) = byteArrayOf((v shr 24).toByte(), (v shr 16).toByte(), (v shr 8).toByte(), v.toByte())
    }
}
