"""Place names a Vietnamese speaker asks about: Vietnam's provinces, cities and best-known
towns, and the world's capitals and large cities as Vietnamese says them.

Why a list: a small model fills a ``city`` argument with whatever words follow "ở" or precede
"có mưa không" ("trời mọc", "lá cây", "Tuyên ngôn độc lập"). A weather tool can only answer for
places it knows, so the understanding stage checks a place argument against this list before
acting (:mod:`edgevox.llm.decide`). Both the 63 provinces before the 2025 merger and the 34
after it are here, with common short forms ("Sài Gòn", "Huế"); matching ignores case,
diacritic composition and a leading "thành phố", "tỉnh", "thủ đô" or "TP".
"""

from __future__ import annotations

import re
import unicodedata

_VIETNAM = """
An Giang; Bà Rịa - Vũng Tàu; Bà Rịa; Vũng Tàu; Bạc Liêu; Bắc Giang; Bắc Kạn; Bắc Cạn; Bắc Ninh;
Bến Tre; Bình Dương; Bình Định; Bình Phước; Bình Thuận; Cà Mau; Cao Bằng; Cần Thơ; Đà Nẵng;
Đắk Lắk; Đắc Lắc; Đắk Nông; Điện Biên; Đồng Nai; Đồng Tháp; Gia Lai; Hà Giang; Hà Nam; Hà Nội;
Hà Tĩnh; Hải Dương; Hải Phòng; Hậu Giang; Hòa Bình; Hoà Bình; Hưng Yên; Khánh Hòa; Khánh Hoà;
Kiên Giang; Kon Tum; Lai Châu; Lâm Đồng; Lạng Sơn; Lào Cai; Long An; Nam Định; Nghệ An;
Ninh Bình; Ninh Thuận; Phú Thọ; Phú Yên; Quảng Bình; Quảng Nam; Quảng Ngãi; Quảng Ninh;
Quảng Trị; Sóc Trăng; Sơn La; Tây Ninh; Thái Bình; Thái Nguyên; Thanh Hóa; Thanh Hoá;
Thừa Thiên Huế; Thừa Thiên - Huế; Huế; Tiền Giang; Hồ Chí Minh; Sài Gòn; Trà Vinh;
Tuyên Quang; Vĩnh Long; Vĩnh Phúc; Yên Bái;
Sa Pa; Sapa; Đà Lạt; Nha Trang; Hạ Long; Hội An; Phú Quốc; Mũi Né; Phan Thiết; Quy Nhơn;
Buôn Ma Thuột; Buôn Mê Thuột; Pleiku; Vinh; Rạch Giá; Long Xuyên; Mỹ Tho; Biên Hòa; Biên Hoà;
Thủ Dầu Một; Thủ Đức; Cam Ranh; Tam Đảo; Mộc Châu; Côn Đảo; Cát Bà; Móng Cái; Đồng Hới;
Tuy Hòa; Tuy Hoà; Châu Đốc; Hà Tiên; Cao Lãnh; Sầm Sơn; Cửa Lò; Đồ Sơn; Tam Kỳ; Phan Rang;
Bảo Lộc; Điện Biên Phủ; Mường Tè; Hà Đông; Sơn Tây; Ba Vì; Cần Giờ; Lý Sơn; Hoàng Sa;
Trường Sa; Mỹ Đình; Cầu Giấy; Hoàn Kiếm; Long Biên; Tây Hồ; Gò Vấp; Bình Thạnh; Tân Bình;
Quận Một; Chợ Lớn; Vạn Ninh; Ninh Kiều; Sóc Sơn; Gia Nghĩa; Bắc Hà; Đông Hà; Thanh Hà
"""

_WORLD = """
Bắc Kinh; Thượng Hải; Quảng Châu; Thâm Quyến; Hồng Kông; Ma Cao; Đài Bắc; Đài Loan; Tokyo;
Tô-ky-ô; Osaka; Kyoto; Seoul; Xơ-un; Busan; Bình Nhưỡng; Bangkok; Băng Cốc; Viêng Chăn;
Vientiane; Luông Pha Băng; Phnôm Pênh; Phnom Penh; Siem Reap; Xiêm Riệp; Kuala Lumpur;
Singapore; Xin-ga-po; Jakarta; Gia-các-ta; Bali; Manila; Ma-ni-la; Yangon; New Delhi;
Niu Đê-li; Mumbai; Dubai; Paris; Pa-ri; Luân Đôn; London; Berlin; Béc-lin; Mát-xcơ-va;
Moskva; Moscow; Rome; Rô-ma; Madrid; Ma-đrít; Amsterdam; Praha; Vienna; Viên; Geneva;
Giơ-ne-vơ; Zurich; Washington; Oa-sinh-tơn; New York; Niu Oóc; Los Angeles; San Francisco;
Chicago; Houston; Boston; Seattle; Toronto; Vancouver; Sydney; Xít-ni; Melbourne; Canberra;
Auckland; Cairo; Cape Town; Rio de Janeiro; São Paulo; Buenos Aires; Mexico City;
Nhật Bản; Hàn Quốc; Trung Quốc; Thái Lan; Lào; Campuchia; Cam-pu-chia; Ma-lai-xi-a;
Malaysia; In-đô-nê-xi-a; Indonesia; Phi-líp-pin; Philippines; Ấn Độ; Úc; Pháp; Anh; Đức;
Mỹ; Nga; Ý; Canada; Ca-na-đa
"""

_PREFIX = re.compile(r"^(thành phố|tp\.?|tỉnh|thủ đô|thị xã|thị trấn|huyện|quận|đảo)\s+",
                     re.IGNORECASE)
_SEPARATORS = re.compile(r"\s*[-–]\s*|\s+")


def _key(name: str) -> str:
    text = unicodedata.normalize("NFC", name).strip().lower()
    return _SEPARATORS.sub(" ", text)


def _names(block: str) -> frozenset[str]:
    return frozenset(_key(n) for n in block.split(";") if n.strip())


KNOWN_PLACES = _names(_VIETNAM) | _names(_WORLD)


def is_known_place(name: str) -> bool:
    """Whether ``name`` is a place edgevox knows, after the prefixes a speaker adds.

    "Hà Nội", "thành phố Hồ Chí Minh", "tỉnh Lào Cai", "TP Huế" are places; "trời mọc" is not.
    "quận Một" keeps working because the bare and prefixed forms are both tried.
    """
    key = _key(name)
    return key in KNOWN_PLACES or _key(_PREFIX.sub("", key)) in KNOWN_PLACES
