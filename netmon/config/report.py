"""The `report:` section of the config (pydantic): who the monthly asset condition report is from, who signs it,
and (`schedule:`) when the daemon sends it by mail. Read by `netmon report monthly` and the daemon's
netmon.report.schedule (docs/reports.md). The schedule's own SMTP password is a reference (`{env: VAR}` or
`{file: PATH}`), read by the loader into `Config.report_secrets["schedule.mail.password"]`."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from netmon.config.base import SecretRef, Strict

MAILBOX = r"^[^@\s<>,;]+@[^@\s<>,;]+$"  # one plain address: no display name, no list


class Signatory(Strict):
    name: str = Field(description="Full name with academic titles, as it is signed")
    nip: str | None = Field(default=None, pattern=r"^[0-9 ]{18,21}$",
                            description="Nomor Induk Pegawai (18 digits; spaces allowed)")
    title: str | None = Field(default=None, description="The office, e.g. 'Kepala Bidang Aplikasi Informatika'")


class Signatories(Strict):
    kepala_bidang: Signatory | None = Field(default=None, description="signs the report")
    kepala_dinas: Signatory | None = Field(default=None, description="countersigns ('Mengetahui')")


class ReportMailServer(Strict):
    """The SMTP server the scheduled report leaves through (when it is not the ticket mail's server)."""

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    sender: str = Field(pattern=MAILBOX)
    starttls: bool = True
    implicit_tls: bool = False
    user: str | None = None
    password: SecretRef | None = None
    domain: str = Field(default="netmon.local", description="the right part of the Message-ID")

    @model_validator(mode="after")
    def _together(self) -> ReportMailServer:
        if (self.user is None) != (self.password is None):
            raise ValueError("give `user` and `password` together, or neither")
        if self.starttls and self.implicit_tls:
            raise ValueError("choose `starttls` (port 587) or `implicit_tls` (port 465), not both")
        return self


class ReportSchedule(Strict):
    """The daemon builds the previous month's report on `day` at `time` (local) and mails it."""

    day: int = Field(default=1, ge=1, le=28, description="day of the month (1-28: every month has it)")
    time: str = Field(default="07:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
                      description="HH:MM, local: in each kabupaten's zone (scope kabupaten) or the config's "
                      "default zone (scope all)")
    scope: Literal["kabupaten", "all"] = Field(default="kabupaten", description="one report per kabupaten, "
                                               "each on its own zone's clock, or one for every site")
    formats: list[Literal["pdf", "xlsx", "csv"]] = Field(default=["pdf", "xlsx"], min_length=1)
    language: Literal["id", "en"] | None = Field(default=None, description="default: report.language")
    recipients: list[str] = Field(default_factory=list, description="get every report")
    kabupaten_recipients: dict[str, list[str]] = Field(default_factory=dict, description="also get the report "
                                                       "of that kabupaten (scope kabupaten)")
    mail: ReportMailServer | None = Field(default=None, description="default: the server of alerts.tickets.mail")

    @model_validator(mode="after")
    def _addressed(self) -> ReportSchedule:
        everyone = [*self.recipients, *(a for group in self.kabupaten_recipients.values() for a in group)]
        if not everyone:
            raise ValueError("give `recipients` (or `kabupaten_recipients`): who gets the report")
        for address in everyone:
            if re.match(MAILBOX, address) is None:
                raise ValueError(f"recipient {address!r} is not one plain mail address (user@example.go.id)")
        if self.kabupaten_recipients and self.scope == "all":
            raise ValueError("`kabupaten_recipients` needs scope: kabupaten (one report per kabupaten)")
        return self


class ReportConfig(Strict):
    pemda: str = Field(default="", description="e.g. 'Pemerintah Kabupaten Banyumas'")
    opd: str = Field(default="", description="e.g. 'Dinas Komunikasi dan Informatika'")
    place: str = Field(default="", description="Where it is signed, before the date: 'Purwokerto'")
    language: str = Field(default="id", pattern="^(id|en)$", description="default for --lang")
    signatories: Signatories = Signatories()
    schedule: ReportSchedule | None = Field(default=None, description="mail the previous month's report "
                                            "(the daemon; docs/reports.md)")
