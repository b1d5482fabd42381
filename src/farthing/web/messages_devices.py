"""The words of the wallet page's devices in Korean, by their English (joined into `messages.KO`)."""

from __future__ import annotations

DEVICES_KO = {
    "Devices that pay": "결제하는 기기",
    "Chargers, machines and sensors paying from this wallet within the caps you set": "설정한 한도 안에서 이 "
    "지갑으로 결제하는 충전기, 자판기, 센서",
    "Device": "기기",
    "Caps": "한도",
    "Today": "오늘",
    "This month": "이번 달",
    "%(each)s a payment, %(day)s a day, %(month)s a month": "1회 %(each)s, 하루 %(day)s, 한 달 %(month)s",
    "Pause": "일시 정지",
    "Resume": "재개",
    "paused": "일시 정지됨",
    "Register a device": "기기 등록",
    "Waiting for your approval": "승인 대기 중",
    "%(amount)s to %(merchant)s": "%(merchant)s에 %(amount)s",
    "Approve or decline": "승인 또는 거절",
    "Decline: do not pay": "거절: 결제하지 않음",
    "declined by the payer": "구매자가 거절함",
    "Approve or decline %(amount)s to %(merchant)s": "%(merchant)s에 %(amount)s 승인 또는 거절",
    "The device's public key (Ed25519, base64url or hex, as the device shows it)": "기기의 공개 키 (Ed25519, "
    "기기에 표시된 base64url 또는 16진수)",
    "Where it is installed (a country code such as DE; for tax)": "설치된 나라 (DE 같은 국가 코드, 세금 계산용)",
    "At most a payment": "1회 최대",
    "At most a day": "하루 최대",
    "At most a month": "한 달 최대",
    "Register the device": "기기 등록하기",
    "The device's name": "기기 이름",
    "It pays in": "결제 통화",
    "The kind of device": "기기 종류",
    "charger": "충전기",
    "vending machine": "자판기",
    "sensor": "센서",
    "meter": "계량기",
    "other": "기타",
    "The device is registered: it pays from this wallet within its caps.": "기기가 등록되었습니다. 설정한 한도 "
    "안에서 이 지갑으로 결제합니다.",
    "No such page.": "그런 페이지가 없습니다.",
}
