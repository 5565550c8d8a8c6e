"""The reports as frozen dataclasses, and the enums and flags they use.

`TrackingStatus`, `Source`, `SourceStats` and `RTCData`, with the enums
`LeapStatus`, `SourceState`, `SourceMode` and `Transport`, have pychrony
2.0.3's fields, values and helper methods. The six other reports
(`Activity`, `ServerStats`, `Smoothing`, `SelectData`, `NtpData`,
`AuthData`) have the fields of the Rust library's models, with the same
names: seconds are unmarked floats (whole seconds as ints), other units are
suffixed (`_ppm`, `_bits`, `_bytes`), times are float seconds since the
Unix epoch, `None` means "never" or "not sent by this chronyd". An enum
field of these reports is an `int` (the raw value) when chronyd sends a
value the enum does not know: the mode of a source that never answered is
0, for example.
"""

import enum
from dataclasses import dataclass, field

__all__ = [
    "Transport",
    "LeapStatus",
    "SourceState",
    "SourceMode",
    "SelectState",
    "NtpMode",
    "TimestampSource",
    "AuthMode",
    "KeyType",
    "SelectOptions",
    "SmoothingFlags",
    "NtpFlags",
    "TrackingStatus",
    "Source",
    "SourceStats",
    "RTCData",
    "Activity",
    "ServerStats",
    "Smoothing",
    "SelectData",
    "NtpData",
    "AuthData",
    "Absence",
    "Snapshot",
    "NEVER",
    "LOCAL_REFERENCE_ID",
]

#: chronyd's "never" in `Source.last_sample_ago` (0xFFFFFFFF, as pychrony
#: and `chronyc -c` give it).
NEVER = 0xFFFFFFFF

#: The reference ID of chronyd's own local clock (127.127.1.1), used when it
#: serves time with the `local` directive and no source.
LOCAL_REFERENCE_ID = 0x7F7F0101


class Transport(enum.Enum):
    """How a connection reaches chronyd.

    `UNIX_SOCKET` is chronyd's command socket (every report; root or
    chronyd's user only); `COMMAND_PORT` its UDP port (the monitoring
    reports tracking, sources, sourcestats, rtcdata, activity and
    smoothing).
    """

    UNIX_SOCKET = "unix_socket"
    COMMAND_PORT = "command_port"


class LeapStatus(enum.Enum):
    """Leap second status: `NORMAL`, `INSERT` or `DELETE` a second at the
    end of the day, or `UNSYNC` (not synchronized)."""

    NORMAL = 0
    INSERT = 1
    DELETE = 2
    UNSYNC = 3


class SourceState(enum.Enum):
    """Selection state of a source (chronyc's `*`, `?`, `x`, `~`, `+`, `-`)."""

    SELECTED = 0
    NONSELECTABLE = 1
    FALSETICKER = 2
    JITTERY = 3
    UNSELECTED = 4
    SELECTABLE = 5


class SourceMode(enum.Enum):
    """A server polled as a client (`^`), a peer (`=`) or a reference clock (`#`)."""

    CLIENT = 0
    PEER = 1
    REFCLOCK = 2


class SelectState(enum.Enum):
    """A source's state in chronyd's selection (`chronyc selectdata`); the
    value is the code of the character chronyc prints."""

    IGNORED = 78  # N
    NOT_SYNCHRONIZED = 115  # s
    MISSING_SAMPLES = 77  # M
    UNACCEPTABLE_DISTANCE = 100  # d
    LARGE_DISTANCE = 68  # D
    JITTERY = 126  # ~
    WAITING_FOR_OTHERS = 119  # w
    MISSING_SELECTABLE_SOURCES = 87  # W
    STALE = 83  # S
    ORPHAN = 79  # O
    NOT_TRUSTED = 84  # T
    FALSETICKER = 120  # x
    NOT_PREFERRED = 80  # P
    WAITING_FOR_UPDATE = 85  # U
    COMBINED = 43  # +
    BEST = 42  # *

    @property
    def symbol(self) -> str:
        """The character `chronyc selectdata` prints."""
        return chr(self.value)


class NtpMode(enum.Enum):
    """NTP mode of the last packet received from a source."""

    ACTIVE_SYMMETRIC = 1
    PASSIVE_SYMMETRIC = 2
    SERVER = 4


class TimestampSource(enum.Enum):
    """Where a packet's timestamp was taken: by chronyd (`D`), the kernel
    (`K`) or the network card (`H`)."""

    DAEMON = 68
    KERNEL = 75
    HARDWARE = 72


class AuthMode(enum.Enum):
    """How a source's packets are authenticated."""

    NONE = 0
    SYMMETRIC_KEY = 1
    NTS = 2


class KeyType(enum.Enum):
    """A source's key algorithm (`NONE` without a key)."""

    NONE = 0
    MD5 = 1
    SHA1 = 2
    SHA256 = 3
    SHA384 = 4
    SHA512 = 5
    SHA3_224 = 6
    SHA3_256 = 7
    SHA3_384 = 8
    SHA3_512 = 9
    TIGER = 10
    WHIRLPOOL = 11
    AES128 = 13
    AES256 = 14
    AEAD_AES_SIV_CMAC_256 = 15
    AEAD_AES_128_GCM_SIV = 30


class SelectOptions(enum.IntFlag):
    """A source's selection options (`noselect`, `prefer`, `trust`, `require`)."""

    NOSELECT = 1
    PREFER = 2
    TRUST = 4
    REQUIRE = 8


class SmoothingFlags(enum.IntFlag):
    """The smoothing report's flags."""

    ACTIVE = 1
    LEAP_ONLY = 2


class NtpFlags(enum.IntFlag):
    """An ntpdata record's flags: a set `TEST_*` bit is a passed test
    (chronyc's `1 2 3`, `5 6 7`, `A B C D`), and two mode bits."""

    TEST_D = 0x1
    TEST_C = 0x2
    TEST_B = 0x4
    TEST_A = 0x8
    TEST_7 = 0x10
    TEST_6 = 0x20
    TEST_5 = 0x40
    TEST_3 = 0x80
    TEST_2 = 0x100
    TEST_1 = 0x200
    INTERLEAVED = 0x4000
    AUTHENTICATED = 0x8000


_ALL_TESTS = 0x3FF


@dataclass(frozen=True)
class TrackingStatus:
    """The tracking report (`chronyc tracking`): how the system clock is
    synchronized.

    Attributes:
        reference_id: Reference ID of the selected source (0 when none).
        reference_id_name: The name chronyc prints beside the reference ID:
            the source's address, or a reference clock's name.
        reference_ip: The selected source's address, `""` when it has none.
        stratum: Stratum of the local clock.
        leap_status: Leap status.
        ref_time: Time of the last clock update, seconds since the epoch
            (0.0 when never).
        offset: Offset chronyd is still correcting (chronyc's "System
            time"), seconds; positive means the clock is behind.
        last_offset: Offset measured at the last clock update, seconds.
        rms_offset: Long-term RMS of the offset, seconds.
        frequency: Frequency error of the system clock, ppm.
        residual_freq: Residual frequency of the selected source, ppm.
        skew: Estimated error bound of the frequency, ppm.
        root_delay: Network delay to the stratum-1 root, seconds.
        root_dispersion: Dispersion to the root, seconds.
        update_interval: Interval between the last two clock updates, seconds.
    """

    reference_id: int
    reference_id_name: str
    reference_ip: str
    stratum: int
    leap_status: LeapStatus
    ref_time: float
    offset: float
    last_offset: float
    rms_offset: float
    frequency: float
    residual_freq: float
    skew: float
    root_delay: float
    root_dispersion: float
    update_interval: float

    def is_synchronized(self) -> bool:
        """True when chronyd is synchronized to a source, as `chronyc
        waitsync` decides: a reference ID other than 0 and than the local
        clock's (`LOCAL_REFERENCE_ID`), a leap status other than `UNSYNC`,
        and a stratum below 16."""
        return (
            self.reference_id != 0
            and self.reference_id != LOCAL_REFERENCE_ID
            and self.leap_status != LeapStatus.UNSYNC
            and self.stratum < 16
        )

    def is_leap_pending(self) -> bool:
        """True when a leap second is announced (insert or delete)."""
        return self.leap_status in (LeapStatus.INSERT, LeapStatus.DELETE)

    def clock_error_bound(self) -> float:
        """How far the system clock may be from true time, in seconds
        (chronyc's bound: |offset| + root dispersion + root delay / 2)."""
        return abs(self.offset) + self.root_dispersion + self.root_delay / 2.0


@dataclass(frozen=True)
class Source:
    """One source of the sources report (`chronyc sources`).

    Attributes:
        address: The source's IP address, `ID#NNNNNNNNNN` while unresolved,
            or a reference clock's name.
        poll: Polling interval, log2 seconds (may be negative).
        stratum: Stratum the source reports.
        state: Selection state.
        mode: Client, peer or reference clock.
        flags: Source flags (0 in current chronyd).
        reachability: Reachability register (one bit per recent poll).
        last_sample_ago: Seconds since the last good sample, `NEVER`
            (0xFFFFFFFF) when there was none.
        orig_latest_meas: Offset of the last sample as measured, seconds.
        latest_meas: Offset of the last sample adjusted for later clock
            changes, seconds.
        latest_meas_err: Error bound of the last sample, seconds.
    """

    address: str
    poll: int
    stratum: int
    state: SourceState
    mode: SourceMode
    flags: int
    reachability: int
    last_sample_ago: int
    orig_latest_meas: float
    latest_meas: float
    latest_meas_err: float

    def is_reachable(self) -> bool:
        """True when any of the last eight polls got an answer."""
        return self.reachability != 0

    def is_selected(self) -> bool:
        """True for the source chronyd synchronizes to."""
        return self.state == SourceState.SELECTED


@dataclass(frozen=True)
class SourceStats:
    """Statistics of one source (`chronyc sourcestats`).

    Attributes:
        reference_id: Reference ID of the source.
        address: The source's address; `""` for a reference clock.
        samples: Samples kept.
        runs: Runs of residuals with the same sign.
        span: Seconds between the oldest and the newest sample.
        std_dev: Standard deviation of the samples, seconds.
        resid_freq: Residual frequency, ppm.
        skew: Error bound of the frequency, ppm.
        offset: Estimated offset of the source, seconds.
        offset_err: Error bound of the offset, seconds.
    """

    reference_id: int
    address: str
    samples: int
    runs: int
    span: int
    std_dev: float
    resid_freq: float
    skew: float
    offset: float
    offset_err: float

    def has_sufficient_samples(self, minimum: int = 4) -> bool:
        """True when at least `minimum` samples are kept."""
        return self.samples >= minimum


@dataclass(frozen=True)
class RTCData:
    """RTC tracking data (`chronyc rtcdata`); `get_rtc_data()` returns
    `None` when chronyd does not track an RTC.

    Attributes:
        ref_time: Time of the last RTC measurement, seconds since the epoch.
        samples: Measurements kept.
        runs: Runs of residuals with the same sign.
        span: Seconds spanned by the measurements.
        offset: Offset of the RTC (fast by), seconds.
        freq_offset: Frequency error of the RTC, ppm.
    """

    ref_time: float
    samples: int
    runs: int
    span: int
    offset: float
    freq_offset: float

    def is_calibrated(self) -> bool:
        """True when chronyd has measured the RTC at least once."""
        return self.samples > 0


@dataclass(frozen=True)
class Activity:
    """The activity report (`chronyc activity`): sources by state."""

    online_sources: int
    offline_sources: int
    burst_online_return_sources: int
    burst_offline_return_sources: int
    unresolved_sources: int

    def total(self) -> int:
        """All sources counted."""
        return (
            self.online_sources
            + self.offline_sources
            + self.burst_online_return_sources
            + self.burst_offline_return_sources
            + self.unresolved_sources
        )


@dataclass(frozen=True)
class ServerStats:
    """The serverstats report (`chronyc serverstats`, Unix socket only):
    chronyd's counters as a server. `None` is a value this chronyd does not
    send (the set grows with chrony's version); before chrony 4.6 the
    counters are 32-bit and wrap to 0."""

    received_ntp_requests: int | None
    accepted_nts_ke_connections: int | None
    received_command_requests: int | None
    dropped_ntp_requests: int | None
    dropped_nts_ke_connections: int | None
    dropped_command_requests: int | None
    dropped_client_log_records: int | None
    received_authenticated_ntp_requests: int | None
    received_interleaved_ntp_requests: int | None
    held_ntp_timestamps: int | None
    ntp_timestamp_span: int | None
    served_daemon_rx_timestamps: int | None
    served_daemon_tx_timestamps: int | None
    served_kernel_rx_timestamps: int | None
    served_kernel_tx_timestamps: int | None
    served_hardware_rx_timestamps: int | None
    served_hardware_tx_timestamps: int | None


@dataclass(frozen=True)
class Smoothing:
    """The smoothing report (`chronyc smoothing`); `get_smoothing()`
    returns `None` when `smoothtime` is not configured."""

    flags: SmoothingFlags
    offset: float
    frequency_ppm: float
    wander_ppm_per_second: float
    last_update_ago: float
    remaining_time: float

    def is_active(self) -> bool:
        """True while smoothing is in progress."""
        return SmoothingFlags.ACTIVE in self.flags


@dataclass(frozen=True)
class SelectData:
    """One source of the selectdata report (`chronyc selectdata`, Unix
    socket only). `last_sample_ago` is `None` for "never"."""

    reference_id: int
    address: str
    state: SelectState | int
    authentication: bool
    leap_status: LeapStatus
    configured_options: SelectOptions
    effective_options: SelectOptions
    last_sample_ago: int | None
    score: float
    low_limit: float
    high_limit: float

    def is_selected(self) -> bool:
        """True for the source chronyd synchronizes to (`*`)."""
        return self.state == SelectState.BEST


@dataclass(frozen=True)
class NtpData:
    """NTP data of one source (`chronyc ntpdata`, Unix socket only;
    reference clocks have none). `local_address` is `None` before the first
    exchange; the counters newer chronyd versions send are `None` on older
    ones."""

    address: str
    local_address: str | None
    remote_port: int
    leap_status: LeapStatus
    version: int
    mode: NtpMode | int
    stratum: int
    poll: int
    precision: int
    root_delay: float
    root_dispersion: float
    reference_id: int
    reference_time: float
    offset: float
    peer_delay: float
    peer_dispersion: float
    response_time: float
    jitter_asymmetry: float
    flags: NtpFlags
    transmit_timestamping: TimestampSource | int
    receive_timestamping: TimestampSource | int
    transmitted_messages: int
    received_messages: int
    received_valid_messages: int
    received_good_messages: int | None
    kernel_transmit_timestamps: int | None
    kernel_receive_timestamps: int | None
    hardware_transmit_timestamps: int | None
    hardware_receive_timestamps: int | None

    def all_tests_passed(self) -> bool:
        """True when the last packet passed all ten tests."""
        return self.flags & _ALL_TESTS == _ALL_TESTS


@dataclass(frozen=True)
class AuthData:
    """Authentication data of one NTP source (`chronyc authdata`, Unix
    socket only). `last_key_establishment_ago` is `None` for "never"."""

    address: str | None
    mode: AuthMode | int
    key_type: KeyType | int
    key_id: int
    key_length_bits: int
    key_establishment_attempts: int
    last_key_establishment_ago: int | None
    cookies: int
    cookie_length_bytes: int
    nak: bool

    def is_authenticated(self) -> bool:
        """True when the source is authenticated (symmetric key or NTS)."""
        return self.mode != AuthMode.NONE


@dataclass(frozen=True)
class Absence:
    """Why a report is missing from a `Snapshot`.

    Attributes:
        reason: A stable label: `unauthorized` (not served over this
            transport), `disabled`, `bad_data`, ...
        message: The error's text.
    """

    reason: str
    message: str


@dataclass(frozen=True)
class Snapshot:
    """Every report chronyd serves on the connection's transport, read at
    once. A report it did not serve is `None` and named in `absent` (an
    RTC or smoothing report is also `None` when chronyd has the feature off,
    without an entry in `absent`)."""

    address: str
    transport: Transport
    tracking: TrackingStatus | None
    sources: list[Source] | None
    source_stats: list[SourceStats] | None
    select_data: list[SelectData] | None
    ntp_data: list[NtpData] | None
    auth_data: list[AuthData] | None
    activity: Activity | None
    server_stats: ServerStats | None
    smoothing: Smoothing | None
    rtc_data: RTCData | None
    absent: dict[str, Absence] = field(default_factory=dict)
