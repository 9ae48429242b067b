"""Vietnamese names for the generated country: provinces, places, people, agencies.

The 34 provinces and their commune counts follow the 2025 reorganisation (28 tỉnh and
6 thành phố, 3,321 xã, phường and đặc khu in all); the names of communes, villages and
people below them are drawn from common syllables, so they read as real without naming
real places or people.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Province:
    """A province or centrally-run city after 1 July 2025."""

    code: str
    name: str
    city: bool  # thành phố trực thuộc trung ương
    slug: str  # for e-mail domains
    communes: int  # xã + phường + đặc khu
    wards: int  # phường among them
    region: str  # village word: thôn (north, centre), ấp (south), bản (north-west), buôn (highlands)
    special_zones: tuple[str, ...] = ()


PROVINCES: tuple[Province, ...] = (
    Province("HNI", "Hà Nội", True, "hanoi", 126, 51, "thôn"),
    Province("HCM", "Hồ Chí Minh", True, "hochiminh", 168, 113, "ấp", ("Côn Đảo",)),
    Province("HPG", "Hải Phòng", True, "haiphong", 114, 45, "thôn", ("Cát Hải", "Bạch Long Vĩ")),
    Province("DNG", "Đà Nẵng", True, "danang", 94, 23, "thôn", ("Hoàng Sa",)),
    Province("HUE", "Huế", True, "hue", 40, 21, "thôn"),
    Province("CTO", "Cần Thơ", True, "cantho", 103, 31, "ấp"),
    Province("TQG", "Tuyên Quang", False, "tuyenquang", 124, 7, "bản"),
    Province("CBG", "Cao Bằng", False, "caobang", 56, 3, "bản"),
    Province("LCU", "Lai Châu", False, "laichau", 38, 2, "bản"),
    Province("LCI", "Lào Cai", False, "laocai", 99, 10, "bản"),
    Province("TNN", "Thái Nguyên", False, "thainguyen", 92, 15, "thôn"),
    Province("DBN", "Điện Biên", False, "dienbien", 45, 3, "bản"),
    Province("LSN", "Lạng Sơn", False, "langson", 65, 4, "bản"),
    Province("SLA", "Sơn La", False, "sonla", 75, 8, "bản"),
    Province("PTO", "Phú Thọ", False, "phutho", 148, 15, "thôn"),
    Province("BNH", "Bắc Ninh", False, "bacninh", 99, 33, "thôn"),
    Province("QNH", "Quảng Ninh", False, "quangninh", 54, 30, "thôn", ("Vân Đồn", "Cô Tô")),
    Province("HYN", "Hưng Yên", False, "hungyen", 104, 11, "thôn"),
    Province("NBH", "Ninh Bình", False, "ninhbinh", 129, 32, "thôn"),
    Province("THA", "Thanh Hóa", False, "thanhhoa", 166, 19, "thôn"),
    Province("NAN", "Nghệ An", False, "nghean", 130, 11, "thôn"),
    Province("HTH", "Hà Tĩnh", False, "hatinh", 69, 9, "thôn"),
    Province("QTI", "Quảng Trị", False, "quangtri", 78, 8, "thôn", ("Cồn Cỏ",)),
    Province("QNI", "Quảng Ngãi", False, "quangngai", 96, 9, "thôn", ("Lý Sơn",)),
    Province("GLI", "Gia Lai", False, "gialai", 135, 25, "làng"),
    Province("KHA", "Khánh Hòa", False, "khanhhoa", 65, 16, "thôn", ("Trường Sa",)),
    Province("LDG", "Lâm Đồng", False, "lamdong", 124, 20, "thôn", ("Phú Quý",)),
    Province("DLK", "Đắk Lắk", False, "daklak", 102, 14, "buôn"),
    Province("DNI", "Đồng Nai", False, "dongnai", 95, 23, "ấp"),
    Province("TNH", "Tây Ninh", False, "tayninh", 96, 14, "ấp"),
    Province("VLG", "Vĩnh Long", False, "vinhlong", 124, 19, "ấp"),
    Province("DTP", "Đồng Tháp", False, "dongthap", 102, 20, "ấp"),
    Province("CMU", "Cà Mau", False, "camau", 64, 9, "ấp"),
    Province("AGG", "An Giang", False, "angiang", 102, 14, "ấp", ("Phú Quốc", "Kiên Hải", "Thổ Châu")),
)

#: Syllables of Vietnamese place names; two of them make a commune or village name.
PLACE_SYLLABLES = (
    "An", "Bình", "Phú", "Tân", "Hòa", "Thạnh", "Long", "Phước", "Xuân", "Đông", "Tây", "Nam",
    "Bắc", "Trung", "Hưng", "Thịnh", "Lộc", "Sơn", "Hải", "Quang", "Minh", "Đức", "Thanh",
    "Vĩnh", "Mỹ", "Hiệp", "Thuận", "Lợi", "Hậu", "Định", "Cát", "Kim", "Ngọc", "Hồng", "Lạc",
    "Yên", "Phong", "Khánh", "Tiến", "Thắng", "Lâm", "Hà", "Giang", "Thủy", "Tường", "Nghĩa",
    "Trà", "Vạn", "Châu", "Điền", "Gia", "Quý", "Thái", "Tràng", "Cẩm", "Hội", "Mai", "Liên",
)

SURNAMES = (  # weighted by frequency: Nguyễn is about four in ten
    ("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 4), ("Huỳnh", 3),
    ("Phan", 4), ("Vũ", 3), ("Võ", 3), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 2),
    ("Ngô", 2), ("Dương", 1), ("Lý", 1), ("Đinh", 1), ("Trương", 1), ("Lò", 1), ("H'", 1),
)
MALE_MIDDLE = ("Văn", "Hữu", "Đức", "Minh", "Quốc", "Xuân", "Thanh", "Công", "Đình", "Ngọc")
FEMALE_MIDDLE = ("Thị", "Thị", "Thị", "Ngọc", "Thanh", "Thu", "Kim", "Mỹ", "Hồng")
MALE_GIVEN = ("Hùng", "Sơn", "Tuấn", "Dũng", "Bình", "Phúc", "Lực", "Tám", "Tư", "Năm", "Khánh",
              "Hải", "Long", "Nam", "Thắng", "Quân", "Trung", "Hiếu", "Toàn", "Cường", "Việt")
FEMALE_GIVEN = ("Mai", "Lan", "Hạnh", "Thu", "Lệ", "Hoa", "Hương", "Thảo", "Hằng", "Nga",
                "Linh", "Phương", "Yến", "Trang", "Huyền", "Dung", "Loan", "Vân")

#: Agencies under the provincial government's party committee (Đảng ủy UBND).
GOVERNMENT_AGENCIES = (
    "Sở Tài chính", "Sở Nội vụ", "Sở Tư pháp", "Sở Xây dựng", "Sở Công Thương",
    "Sở Nông nghiệp và Môi trường", "Sở Giáo dục và Đào tạo", "Sở Y tế",
    "Sở Văn hóa, Thể thao và Du lịch", "Sở Khoa học và Công nghệ", "Sở Dân tộc và Tôn giáo",
    "Thanh tra tỉnh", "Văn phòng UBND tỉnh", "Bệnh viện Đa khoa tỉnh", "Bệnh viện Sản - Nhi",
    "Trung tâm Kiểm soát bệnh tật", "Trường Cao đẳng Y tế", "Trường Cao đẳng Kỹ thuật",
    "Ban Quản lý dự án đầu tư xây dựng", "Ban Quản lý các khu công nghiệp",
    "Công ty TNHH MTV Xổ số kiến thiết", "Công ty Cổ phần Cấp thoát nước",
)
#: Bodies under the party and mass organisations' committee (Đảng ủy các cơ quan Đảng).
PARTY_BODIES = (
    "Văn phòng Tỉnh ủy", "Ban Tổ chức Tỉnh ủy", "Ban Tuyên giáo và Dân vận", "Ban Nội chính",
    "Ủy ban Kiểm tra Tỉnh ủy", "Báo và Phát thanh, Truyền hình", "Trường Chính trị",
    "Ủy ban Mặt trận Tổ quốc", "Hội Nông dân", "Liên đoàn Lao động", "Tỉnh đoàn",
    "Hội Liên hiệp Phụ nữ", "Hội Cựu chiến binh", "Văn phòng Đoàn đại biểu Quốc hội và HĐND",
)
POLICE_UNITS = ("Phòng Cảnh sát hình sự", "Phòng An ninh chính trị nội bộ", "Phòng Tham mưu",
                "Phòng Cảnh sát giao thông", "Phòng Cảnh sát PCCC và CNCH", "Trại tạm giam",
                "Phòng Cảnh sát kinh tế", "Phòng Quản lý hành chính về trật tự xã hội")
MILITARY_UNITS = ("Ban Chỉ huy Phòng thủ khu vực", "Trung đoàn Bộ binh", "Phòng Tham mưu",
                  "Phòng Chính trị", "Phòng Hậu cần - Kỹ thuật", "Tiểu đoàn Huấn luyện")
ENTERPRISES = ("Công ty Điện lực", "Ngân hàng Nông nghiệp và Phát triển nông thôn chi nhánh",
               "Công ty Cổ phần Cấp thoát nước", "Công ty Xổ số kiến thiết", "Bưu điện tỉnh",
               "Viễn thông tỉnh", "Công ty Cổ phần Môi trường đô thị", "Ngân hàng Chính sách xã hội")
SCHOOLS = ("Trường THPT", "Trường THPT chuyên", "Trường Phổ thông dân tộc nội trú")

#: Cells of an agency base: its departments.
DEPARTMENTS = ("Phòng Tổng hợp", "Phòng Hành chính - Tổ chức", "Phòng Kế hoạch - Tài chính",
               "Phòng Nghiệp vụ", "Phòng Thanh tra", "Phòng Pháp chế", "Khoa Nội", "Khoa Ngoại",
               "Khoa Khám bệnh", "Tổ Văn phòng", "Tổ Chuyên môn", "Đội Công tác", "Trạm",
               "Chi nhánh", "Xưởng sản xuất", "Phòng Kỹ thuật")
#: Cells of a commune or ward other than its villages and quarters.
COMMUNE_BODIES = ("Trường Mầm non", "Trường Tiểu học", "Trường THCS", "Trạm Y tế", "Công an",
                  "Quân sự", "cơ quan Đảng ủy - Mặt trận", "cơ quan Ủy ban nhân dân",
                  "Hợp tác xã Nông nghiệp", "Doanh nghiệp tư nhân")
