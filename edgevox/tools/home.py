"""Everyday assistant tools, run on the device, for the demo and as a template for kiosk apps.

These are the tools a home assistant or kiosk registers (timer, alarm, clock, calendar, devices,
volume, music, stop, weather, calls, reminders). Each returns the Vietnamese sentence the agent
speaks to confirm what it did, so a tool call needs no second pass through the LLM. Devices,
music and calls are simulated in memory: a real deployment registers its own functions with the
same signatures (or over the daemon's WebSocket) and keeps these names and arguments.

Numbers are written as digits in the confirmations; the TTS normaliser reads them aloud.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field

from edgevox.tools.registry import Example, ToolRegistry

Device = Literal["light", "fan", "air_conditioner", "tv", "curtain"]
Room = Literal["living_room", "bedroom", "kitchen", "bathroom", "office"]

DEVICE_VI = {"light": "đèn", "fan": "quạt", "air_conditioner": "điều hòa", "tv": "ti vi",
             "curtain": "rèm"}
ROOM_VI = {"living_room": "phòng khách", "bedroom": "phòng ngủ", "kitchen": "bếp",
           "bathroom": "phòng tắm", "office": "phòng làm việc"}
WEEKDAY_VI = ("thứ hai", "thứ ba", "thứ tư", "thứ năm", "thứ sáu", "thứ bảy", "chủ nhật")


def duration_vi(seconds: int) -> str:
    """``5400`` -> "1 giờ 30 phút": the largest units only, as a person would say it."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v} {unit}" for v, unit in ((hours, "giờ"), (minutes, "phút"), (secs, "giây"))
             if v]
    return " ".join(parts) or "0 giây"


@dataclass
class HomeState:
    """What the simulated home remembers; a kiosk app would hold the real state."""

    devices: dict[tuple[str, str], bool] = field(default_factory=dict)
    volume: int = 50
    timers: list[tuple[float, str | None]] = field(default_factory=list)
    alarms: list[tuple[str, str | None]] = field(default_factory=list)
    reminders: list[tuple[str, str | None]] = field(default_factory=list)
    playing: str | None = None
    calling: str | None = None


def home_tools(state: HomeState | None = None,
               now: Callable[[], dt.datetime] = dt.datetime.now) -> ToolRegistry:
    """A registry of the everyday tools acting on ``state``; ``now`` is the clock they read."""
    state = state or HomeState()
    lock = threading.Lock()
    registry = ToolRegistry()

    @registry.function(examples=[Example("hẹn giờ năm phút nhé", {"duration_seconds": 300})])
    def set_timer(duration_seconds: Annotated[int, Field(ge=1, le=86400)],
                  label: str | None = None) -> str:
        """Start a countdown timer."""
        with lock:
            state.timers.append((now().timestamp() + duration_seconds, label))
        about = f" để {label}" if label else ""
        return f"Đã hẹn giờ {duration_vi(duration_seconds)}{about}."

    @registry.function(examples=[Example("báo thức 6 giờ 30 sáng", {"time": "06:30"})])
    def set_alarm(time: Annotated[str, Field(pattern=r"^[0-2][0-9]:[0-5][0-9]$")],
                  label: str | None = None) -> str:
        """Set an alarm at a clock time (24-hour HH:MM)."""
        hour, minute = (int(x) for x in time.split(":"))
        with lock:
            state.alarms.append((time, label))
        spoken = f"{hour} giờ" + (f" {minute} phút" if minute else "")
        return f"Đã đặt báo thức lúc {spoken}."

    @registry.function(examples=[Example("mấy giờ rồi", {})])
    def get_time() -> str:
        """Say the current time."""
        t = now()
        return f"Bây giờ là {t.hour} giờ {t.minute} phút."

    @registry.function(examples=[Example("hôm nay ngày mấy", {})])
    def get_date(lunar: bool = False) -> str:
        """Say today's date (solar, optionally lunar)."""
        d = now()
        solar = f"Hôm nay là {WEEKDAY_VI[d.weekday()]}, ngày {d.day} tháng {d.month} năm {d.year}."
        if lunar:
            return solar + " Tôi chưa xem được lịch âm trên thiết bị này."
        return solar

    @registry.function(examples=[Example("bật đèn phòng khách",
                                         {"device": "light", "action": "on",
                                          "room": "living_room"})])
    def control_device(device: Device, action: Literal["on", "off"],
                       room: Room | None = None) -> str:
        """Switch a home device on or off."""
        with lock:
            state.devices[(device, room or "")] = action == "on"
        where = f" {ROOM_VI[room]}" if room else ""
        verb = "bật" if action == "on" else "tắt"
        if device == "curtain":
            verb = "mở" if action == "on" else "đóng"
        return f"Đã {verb} {DEVICE_VI[device]}{where}."

    @registry.function(examples=[Example("vặn nhỏ âm lượng xuống 30", {"level": 30})])
    def set_volume(level: Annotated[int, Field(ge=0, le=100)]) -> str:
        """Set the speaker volume, 0 to 100."""
        with lock:
            state.volume = level
        return "Đã tắt tiếng." if level == 0 else f"Đã chỉnh âm lượng lên mức {level}."

    @registry.function(examples=[Example("mở bài Hà Nội mùa thu", {"query": "Hà Nội mùa thu"})])
    def play_music(query: str) -> str:
        """Play music matching a song, artist or genre."""
        with lock:
            state.playing = query
        return f"Đang phát {query}."

    @registry.function(examples=[Example("thôi dừng lại", {})])
    def stop() -> str:
        """Stop what is playing or happening now."""
        with lock:
            state.playing = None
            state.calling = None
        return "Đã dừng."

    @registry.function(examples=[Example("mai ở Huế có mưa không",
                                         {"city": "Huế", "day": "tomorrow"})])
    def get_weather(city: str, day: Literal["today", "tomorrow"] | None = None) -> str:
        """Weather forecast for a city."""
        when = "ngày mai" if day == "tomorrow" else "hôm nay"
        return (f"Thiết bị này không kết nối mạng nên tôi chưa xem được thời tiết {city} "
                f"{when}.")

    @registry.function(examples=[Example("gọi cho chị Lan", {"name": "chị Lan"})])
    def call_contact(name: str) -> str:
        """Call a contact by name."""
        with lock:
            state.calling = name
        return f"Đang gọi cho {name}."

    @registry.function(examples=[Example("nhắc tôi uống thuốc lúc 8 giờ tối",
                                         {"text": "uống thuốc", "when": "8 giờ tối"})])
    def add_reminder(text: str, when: str | None = None) -> str:
        """Add a reminder; 'when' is the time or day as the user said it."""
        with lock:
            state.reminders.append((text, when))
        return f"Đã ghi nhớ: {text}" + (f", {when}." if when else ".")

    return registry
