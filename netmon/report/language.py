"""The report's words and number formats in Bahasa Indonesia (default) or English. The only module that imports
Babel: dates "1 Desember 2026", numbers "1.234" and "99,5 %" come from its `id_ID` locale (`en` for English).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from netmon.model import Condition
from netmon.report.period import Period, PeriodKind

LANGUAGES = ("id", "en")

_WORDS: dict[str, tuple[str, str]] = {  # key: (Bahasa Indonesia, English)
    "title": ("Laporan Kondisi Aset Jaringan KIM", "KIM Network Asset Condition Report"),
    "subtitle": ("Ketersediaan, pemakaian dan kondisi peralatan wifi publik",
                 "Availability, use and condition of the public wifi equipment"),
    "period": ("Periode", "Period"),
    "scope": ("Wilayah", "Area"),
    "all_kabupaten": ("Semua kabupaten/kota", "All kabupaten/kota"),
    "zones": ("Zona waktu", "Time zones"),
    "mail_subject": ("{title}: {period}, {scope}", "{title}: {period}, {scope}"),
    "mail_body": (
        "Dengan hormat,\n\nTerlampir laporan kondisi aset jaringan KIM periode {period}, wilayah {scope} (bulan "
        "menurut zona waktu {zone}), dibuat otomatis oleh netmon pada {date}.\n\nBerkas:\n{files}\n\nLaporan "
        "yang sama dapat dibuat ulang dengan:\n  {command}\n",
        "Attached is the KIM network asset condition report for {period}, {scope} (the month in {zone} time), "
        "built by netmon on {date}.\n\nFiles:\n{files}\n\nThe same report can be built again with:\n"
        "  {command}\n"),
    "generated": ("Dibuat", "Generated"),
    "summary": ("Ringkasan per Kecamatan", "Summary by Kecamatan"),
    "sites_section": ("Rincian per Lokasi", "By Site"),
    "assets_section": ("Kondisi Aset (KIB B)", "Asset Condition (KIB B)"),
    "missing_section": ("Data Agen yang Hilang", "Site Agents' Data Lost"),
    "note_missing": (
        "Hasil pemantauan dari agen lokasi yang tidak akan pernah tiba: waktu ini tidak dihitung sebagai padam "
        "maupun hidup (cakupan data) untuk perangkat lokasi tersebut.",
        "Monitoring results of a site agent that will never arrive: this time counts as neither down nor up (data "
        "coverage) for the site's devices."),
    "incidents_section": ("Gangguan dan Tiket Terbuka pada Akhir Periode", "Incidents and Tickets Open at Period End"),
    "days_section": ("Pemakaian per Hari", "Use by Day"),
    "charts_section": ("Grafik", "Charts"),
    "chart_availability_kabupaten": ("Ketersediaan per kabupaten/kota", "Availability by kabupaten/kota"),
    "chart_availability": ("Ketersediaan per kecamatan", "Availability by kecamatan"),
    "chart_bytes": ("Data terpakai per hari (GB)", "Data used per day (GB)"),
    "chart_uniques": ("Perangkat klien unik per hari", "Unique client devices per day"),
    "incomplete": ("data tidak lengkap", "incomplete data"),
    "total": ("Jumlah", "Total"),
    "no_incidents": ("Tidak ada gangguan terbuka pada akhir periode.", "No incident open at the period's end."),
    "sites_in_files": (
        "Rincian {sites} lokasi ada di berkas XLSX dan CSV (lembar/berkas \"sites\"); laporan ini mencakup lebih dari "
        "{limit} aset, sehingga PDF memuat ringkasan per kecamatan dan aset yang memerlukan perhatian.",
        "The details of the {sites} sites are in the XLSX and CSV files (sheet/file \"sites\"); this report covers "
        "more than {limit} assets, so the PDF holds the summary per kecamatan and the assets that need attention."),
    "assets_shown": (
        "Ditampilkan {shown} dari {assets} aset: yang usulan kondisinya bukan B, yang kondisi terkonfirmasinya berbeda "
        "dari usulan, atau yang kondisinya berubah. Semua aset, dengan buktinya, ada di berkas XLSX dan CSV.",
        "Shown: {shown} of {assets} assets, those whose suggested condition is not B, whose confirmed condition "
        "differs from the suggestion, or whose condition changed. Every asset, with its evidence, is in the XLSX "
        "and CSV files."),
    "no_sites": ("Tidak ada lokasi di wilayah ini.", "No site in this area."),
    "not_assessed": ("belum dinilai", "not assessed"),
    "unchanged": ("tetap", "unchanged"),
    "signed_at": ("{place}, {date}", "{place}, {date}"),
    "acknowledged_by": ("Mengetahui", "Acknowledged by"),
    "kepala_dinas": ("Kepala Dinas", "Head of Agency"),
    "kepala_bidang": ("Kepala Bidang", "Head of Division"),
    "nip": ("NIP", "NIP"),
    "page": ("Halaman", "Page"),
    "of": ("dari", "of"),
    "notes": ("Catatan", "Notes"),
    "note_coverage": (
        "Ketersediaan dihitung atas waktu yang terpantau saja; waktu ketika netmon tidak berjalan atau data tidak "
        "masuk tidak dihitung sebagai padam maupun hidup, dan ditunjukkan sebagai cakupan data.",
        "Availability is counted over monitored time only; time when netmon was not running or data did not "
        "arrive counts as neither down nor up, and shows as data coverage."),
    "note_condition": (
        "Kondisi: B = Baik, RR = Rusak Ringan, RB = Rusak Berat. Usulan dihitung dari riwayat pemantauan dengan "
        "aturan kondisi, buktinya dalam satu baris. Pemeriksaan: kondisi terkonfirmasi dari pemeriksaan lapangan "
        "(kondisi, tanggal, pemeriksa: catatan), yang menggantikan usulan sejak tanggalnya. Kondisi = yang "
        "terkonfirmasi, atau usulan bila belum diperiksa; — = tidak ada.",
        "Condition: B = good, RR = minor damage, RB = major damage. The suggestion comes from the monitoring "
        "history by the condition rules, with its evidence in one line. Inspection: the condition confirmed by a "
        "field inspection (condition, date, inspector: note), which overrides the suggestion from its date. "
        "Condition = the confirmed one, else the suggestion; — = none."),
    "note_condition_end": (
        "Laporan semester/tahunan menyatakan kondisi pada akhir periode: usulan dan buktinya dari riwayat bulan "
        "terakhir periode (bulan berjalan bila periode belum berakhir), pemeriksaan yang berlaku pada akhir "
        "periode, dan perubahan dari kondisi pada akhir periode sebelumnya. Ketersediaan dan cakupan data "
        "mencakup seluruh periode.",
        "A semester or year report states the condition at the period's end: the suggestion and its evidence "
        "from the history of the period's last month (the current month while the period is not over), the "
        "inspection holding at the end, and the change from the condition at the end of the previous period. "
        "Availability and data coverage cover the whole period."),
    "note_evidence": (
        "Laporan ini mencakup lebih dari 600 aset: tabel di atas hanya memuat aset yang usulan kondisinya bukan B, "
        "yang kondisi terkonfirmasinya berbeda dari usulan, atau yang kondisinya berubah; rincian per lokasi dan "
        "setiap aset dengan buktinya ada di berkas XLSX dan CSV.",
        "This report covers more than 600 assets: the table above lists only the assets whose suggested condition "
        "is not B, whose confirmed condition differs from the suggestion, or whose condition changed; the details "
        "per site and every asset with its evidence are in the XLSX and CSV files."),
    # column headers
    "kabupaten": ("Kabupaten/Kota", "Kabupaten/Kota"),
    "kecamatan": ("Kecamatan", "Kecamatan"),
    "site": ("Lokasi", "Site"),
    "desa": ("Desa/Kelurahan", "Desa/Kelurahan"),
    "sites": ("Lokasi", "Sites"),
    "assets": ("Aset", "Assets"),
    "availability": ("Ketersediaan", "Availability"),
    "coverage": ("Cakupan data", "Data coverage"),
    "down_device": ("Padam: perangkat", "Down: device"),
    "down_site": ("Padam: lokasi", "Down: site"),
    "down_parent": ("Padam: induk", "Down: parent"),
    "down_maintenance": ("Padam: pemeliharaan", "Down: maintenance"),
    "cond_b": ("B", "B"),
    "cond_rr": ("RR", "RR"),
    "cond_rb": ("RB", "RB"),
    "unassessed": ("Belum dinilai", "Not assessed"),
    "incidents": ("Gangguan", "Incidents"),
    "outages": ("Jumlah padam", "Outages"),
    "downtime_h": ("Total padam (jam)", "Downtime (h)"),
    "longest_h": ("Padam terlama (jam)", "Longest (h)"),
    "downtime": ("Total padam", "Downtime"),
    "longest": ("Padam terlama", "Longest"),
    "reboots": ("Restart", "Reboots"),
    "wifi_peak": ("Klien wifi puncak", "Wifi clients peak"),
    "wifi_mean": ("Klien wifi rata-rata", "Wifi clients mean"),
    "hotspot_peak": ("Pengguna hotspot puncak", "Hotspot users peak"),
    "hotspot_mean": ("Pengguna hotspot rata-rata", "Hotspot users mean"),
    "uniques_mean": ("Perangkat unik/hari rata-rata", "Unique devices/day mean"),
    "uniques_peak": ("Perangkat unik/hari puncak", "Unique devices/day peak"),
    "data_gb": ("Data terpakai (GB)", "Data used (GB)"),
    "no": ("No", "No"),
    "kode_barang": ("Kode Barang", "Kode Barang"),
    "nama_barang": ("Nama/Jenis Barang", "Nama/Jenis Barang"),
    "nomor_register": ("Nomor Register", "Nomor Register"),
    "merk": ("Merk/Type", "Merk/Type"),
    "ukuran": ("Ukuran", "Ukuran"),
    "bahan": ("Bahan", "Bahan"),
    "tahun": ("Tahun Pembelian", "Tahun Pembelian"),
    "seri": ("Nomor Pabrik/Seri", "Nomor Pabrik/Seri"),
    "asal": ("Asal-usul", "Asal-usul"),
    "harga": ("Harga (Rp)", "Harga (Rp)"),
    "keterangan": ("Keterangan", "Keterangan"),
    "device": ("Perangkat", "Device"),
    "suggested": ("Kondisi usulan", "Suggested condition"),
    "evidence": ("Bukti", "Evidence"),
    "confirmed": ("Kondisi terkonfirmasi", "Confirmed condition"),
    "inspection": ("Pemeriksaan", "Inspection"),
    "condition": ("Kondisi", "Condition"),
    "previous": ("Kondisi sebelumnya", "Previous condition"),
    "change": ("Perubahan", "Change"),
    "incident": ("Gangguan", "Incident"),
    "ticket": ("Tiket", "Ticket"),
    "state": ("Status", "State"),
    "opened": ("Mulai", "Opened"),
    "what": ("Uraian", "What"),
    "day": ("Tanggal", "Date"),
    "uniques": ("Perangkat unik", "Unique devices"),
    "open": ("terbuka", "open"),
    "acknowledged": ("ditangani", "acknowledged"),
    "agent": ("Agen", "Agent"),
    "from": ("Dari", "From"),
    "to": ("Sampai", "To"),
    "results": ("Hasil hilang", "Results lost"),
    "why": ("Sebab", "Why"),
    "gap_dropped": ("batas penyimpanan agen", "the agent's storage bound"),
    "gap_missing": ("tidak pernah tiba", "never arrived"),
}

_PERIOD = {
    PeriodKind.MONTH: ("{month} {year}", "{month} {year}"),
    PeriodKind.SEMESTER: ("Semester {index} Tahun {year}", "Semester {index} {year}"),
    PeriodKind.YEAR: ("Tahun {year}", "Year {year}"),
}
_DURATION_UNITS = {"id": ("hari", "jam", "menit"), "en": ("d", "h", "min")}


@dataclass(frozen=True, slots=True)
class Language:
    code: str  # "id" | "en"

    @property
    def locale(self) -> str:
        return "id_ID" if self.code == "id" else "en"

    def __call__(self, key: str) -> str:
        """The word or header `key` in this language."""
        return _WORDS[key][0 if self.code == "id" else 1]

    def date(self, day: date) -> str:
        """"1 Desember 2026" / "December 1, 2026"."""
        return format_date(day, "long", locale=self.locale)

    def number(self, value: float | None, decimals: int = 0) -> str:
        """"1.234" / "1,234"; "—" for None."""
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, pattern, locale=self.locale)

    def percent(self, value: float | None, decimals: int = 1) -> str:
        """"99,5 %" / "99.5%"; "—" for None."""
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + (" %" if self.code == "id" else "%")
        return format_percent(value, pattern, locale=self.locale)

    def duration(self, seconds: float) -> str:
        """"2 hari 3 jam 5 menit" / "2 d 3 h 5 min"; "0 menit" for nothing."""
        days_w, hours_w, minutes_w = _DURATION_UNITS[self.code]
        minutes = round(seconds / 60)
        days, rest = divmod(minutes, 1440)
        hours, minutes = divmod(rest, 60)
        parts = [f"{n} {w}" for n, w in ((days, days_w), (hours, hours_w), (minutes, minutes_w)) if n]
        return " ".join(parts) or f"0 {minutes_w}"

    def month(self, index: int) -> str:
        return format_date(date(2026, index, 1), "LLLL", locale=self.locale)

    def period(self, period: Period) -> str:
        """"November 2026", "Semester 2 Tahun 2026", "Tahun 2026"."""
        template = _PERIOD[period.kind][0 if self.code == "id" else 1]
        return template.format(month=self.month(period.index), index=period.index, year=period.year)

    def condition(self, condition: Condition | None) -> str:
        return "—" if condition is None else condition.value


def language(code: str) -> Language:
    """ValueError for a language other than id or en."""
    if code not in LANGUAGES:
        raise ValueError(f"--lang {code!r}: use id (Bahasa Indonesia) or en (English)")
    return Language(code)
