"""The `report:` section of the config (pydantic): who the monthly asset condition report is from and who signs
it. Read by `netmon report monthly` (docs/reports.md); no secrets here."""

from __future__ import annotations

from pydantic import Field

from netmon.config.base import Strict


class Signatory(Strict):
    name: str = Field(description="Full name with academic titles, as it is signed")
    nip: str | None = Field(default=None, pattern=r"^[0-9 ]{18,21}$",
                            description="Nomor Induk Pegawai (18 digits; spaces allowed)")
    title: str | None = Field(default=None, description="The office, e.g. 'Kepala Bidang Aplikasi Informatika'")


class Signatories(Strict):
    kepala_bidang: Signatory | None = Field(default=None, description="signs the report")
    kepala_dinas: Signatory | None = Field(default=None, description="countersigns ('Mengetahui')")


class ReportConfig(Strict):
    pemda: str = Field(default="", description="e.g. 'Pemerintah Kabupaten Banyumas'")
    opd: str = Field(default="", description="e.g. 'Dinas Komunikasi dan Informatika'")
    place: str = Field(default="", description="Where it is signed, before the date: 'Purwokerto'")
    language: str = Field(default="id", pattern="^(id|en)$", description="default for --lang")
    signatories: Signatories = Signatories()
