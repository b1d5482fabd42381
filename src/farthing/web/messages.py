"""The pages' words in Korean, by their English. A string missing here reads in English (a test checks that
every string the templates and pages ask for is here)."""

from __future__ import annotations

KO = {
    # Pages and navigation.
    "Farthing": "파딩",
    "Skip to content": "본문으로 건너뛰기",
    "Main": "주 메뉴",
    "Language": "언어",
    "Wallet": "지갑",
    "API docs": "API 문서",
    "Sign in": "로그인",
    "Sign out": "로그아웃",
    "Back to the start": "처음으로 돌아가기",
    # The start page.
    "Pay a fraction of a cent, at once": "1센트보다 작은 금액도 즉시 결제",
    "Farthing moves payments from a fraction of a cent to a few dollars, exactly, for articles, API calls and "
    "minutes of use.": "파딩은 기사 한 편, API 호출 한 번, 이용 1분 단위로 1센트 미만부터 몇 달러까지의 결제를 "
    "정확하게 처리합니다.",
    "Your wallet": "내 지갑",
    "top up, see what you paid, sign in or open an account.": "충전하고, 결제 내역을 보고, 로그인하거나 계정을 "
    "만드세요.",
    "every route, tried with your key.": "모든 경로를 내 키로 직접 시험해 보세요.",
    # Accounts.
    "Email": "이메일",
    "Password": "비밀번호",
    "Your name": "이름",
    "No account yet?": "아직 계정이 없으신가요?",
    "Open one": "계정 만들기",
    "Open an account": "계정 만들기",
    "Open my account": "내 계정 만들기",
    "Have an account?": "이미 계정이 있으신가요?",
    "At least %(n)s characters.": "%(n)s자 이상이어야 합니다.",
    "Give your name.": "이름을 입력하세요.",
    "Wrong email or password.": "이메일 또는 비밀번호가 틀렸습니다.",
    "Too many wrong passwords: wait a minute, then try again.": "비밀번호를 여러 번 틀렸습니다. 잠시 후 다시 "
    "시도하세요.",
    "This form expired. Open the page again and resend it.": "양식이 만료되었습니다. 페이지를 다시 열고 다시 보내세요.",
    "That was not a form.": "올바른 양식이 아닙니다.",
    # The wallet.
    "Nothing here yet: top up to start paying.": "아직 아무것도 없습니다. 충전하면 결제를 시작할 수 있습니다.",
    "Available": "사용 가능",
    "held": "보류",
    "Latest activity": "최근 내역",
    "When": "일시",
    "What": "내용",
    "Amount": "금액",
    "Balance": "잔액",
    "Top up": "충전",
    "Currency": "통화",
    "Card number": "카드 번호",
    "Test mode: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined.": "테스트 모드: 4242 4242 4242 "
    "4242는 승인되고 4000 0000 0000 0002는 거절됩니다.",
    "Your top-up went through.": "충전이 완료되었습니다.",
    "The card was declined; nothing was charged.": "카드가 거절되었습니다. 청구된 금액은 없습니다.",
    # Lines of a wallet's history.
    "Top-up": "충전",
    "Payment": "결제",
    "Held for a payment": "결제 보류",
    "Payment (captured)": "결제 (확정)",
    "Hold released": "보류 해제",
    "Hold expired": "보류 만료",
    "Refund": "환불",
    "Card fee": "카드 수수료",
    "Platform fee": "플랫폼 수수료",
    "Channel deposit": "채널 예치",
    "Channel payment": "채널 결제",
    "Channel deposit released": "채널 예치 해제",
    "Tax": "세금",
    "Tax refunded": "세금 환급",
    # Second factors and waiting payments.
    "Sign-in and confirmation": "로그인과 본인 확인",
    "No passkey or authenticator app yet: a payment that needs strong authentication asks for one.": "아직 패스키나 "
    "인증 앱이 없습니다. 강력한 인증이 필요한 결제에서 요청합니다.",
    "since": "등록일",
    "Passkey": "패스키",
    "Authenticator app": "인증 앱",
    "Add a passkey": "패스키 추가",
    "Sign in with a passkey": "패스키로 로그인",
    "This browser cannot use passkeys.": "이 브라우저에서는 패스키를 사용할 수 없습니다.",
    "Your passkey is ready.": "패스키가 등록되었습니다.",
    "Set up an authenticator app": "인증 앱 설정",
    "Scan this code with your authenticator app, then type the six digits it shows.": "인증 앱으로 이 코드를 "
    "스캔한 다음 앱에 표시된 6자리 숫자를 입력하세요.",
    "QR code for your authenticator app": "인증 앱용 QR 코드",
    "Cannot scan? Type this key into the app:": "스캔할 수 없나요? 이 키를 앱에 입력하세요:",
    "Six-digit code": "6자리 코드",
    "Confirm": "확인",
    "Recovery codes": "복구 코드",
    "Your authenticator app is ready": "인증 앱이 준비되었습니다",
    "Keep these recovery codes somewhere safe. Each works once, if your phone is lost. They are shown only now.": (
        "이 복구 코드를 안전한 곳에 보관하세요. 휴대폰을 잃어버렸을 때 각 코드를 한 번씩 쓸 수 있습니다. 지금만 "
        "표시됩니다."
    ),
    "Back to your wallet": "내 지갑으로 돌아가기",
    "Confirm a payment": "결제 확인",
    "to": "받는 곳:",
    "This payment waits until you confirm that it is you.": "본인임을 확인하면 이 결제가 진행됩니다.",
    "Confirm with a passkey": "패스키로 확인",
    "Or a code from your authenticator app": "또는 인증 앱의 코드",
    "Confirm with the code": "코드로 확인",
    "Wrong answers left before the payment is canceled:": "결제가 취소되기 전 남은 시도 횟수:",
    "Paid. Thank you.": "결제되었습니다. 감사합니다.",
    "This payment was not made; nothing was taken.": "이 결제는 이루어지지 않았습니다. 청구된 금액은 없습니다.",
    # Hosted checkout.
    "Checkout": "결제하기",
    "Pay %(merchant)s": "%(merchant)s에 결제",
    "Pay %(amount)s": "%(amount)s 결제",
    "Paid from your Farthing wallet.": "파딩 지갑에서 결제됩니다.",
    "Sign in to pay": "로그인하고 결제",
    "Back to %(merchant)s": "%(merchant)s(으)로 돌아가기",
    "Confirm that it is you": "본인 확인하기",
    "Continue": "계속",
    "There is no such checkout.": "그런 결제 요청은 없습니다.",
    "This checkout expired; nothing was taken. Ask the merchant for a new one.": "이 결제 요청은 만료되었습니다. "
    "청구된 금액은 없습니다. 판매자에게 새 요청을 받으세요.",
    "This checkout was paid already.": "이 결제 요청은 이미 결제되었습니다.",
    # One-click allowances.
    "Let %(merchant)s charge me up to %(each)s a payment, %(day)s a day and %(total)s in all for 30 days, without "
    "asking. I can revoke it in my wallet.": "%(merchant)s이(가) 30일 동안 묻지 않고 결제 1건당 %(each)s, 하루 "
    "%(day)s, 모두 %(total)s까지 청구하도록 허용합니다. 지갑에서 언제든 취소할 수 있습니다.",
    "One-click allowances": "원클릭 허용",
    "up to %(each)s a payment, %(day)s a day, %(total)s in all, until %(until)s": "결제 1건당 %(each)s, 하루 "
    "%(day)s, 모두 %(total)s까지, %(until)s까지",
    "Revoke": "취소",
    "The allowance is revoked: that merchant asks you again.": "허용이 취소되었습니다. 그 판매자는 다시 "
    "확인을 요청합니다.",
    "active": "사용 중",
    "revoked": "취소됨",
    "expired": "만료됨",
    # The merchant's dashboard.
    "Dashboard": "대시보드",
    "Payments received": "받은 결제",
    "Reference": "참조",
    "Status": "상태",
    "Older payments": "이전 결제",
    "No payments yet.": "아직 결제가 없습니다.",
    "API keys": "API 키",
    "Make a new key": "새 키 만들기",
    "Your new key (shown only now, keep it):": "새 키입니다 (지금만 표시되니 보관하세요):",
    "made": "생성",
    "last used": "마지막 사용",
    "The refund went through.": "환불이 완료되었습니다.",
    "The key is revoked.": "키가 폐기되었습니다.",
    "This page is for a merchant's staff.": "이 페이지는 판매자 직원용입니다.",
    # The operator's console.
    "Console": "콘솔",
    "This page is for the platform's operators.": "이 페이지는 플랫폼 운영자용입니다.",
    "Find a payment by its reference": "참조로 결제 찾기",
    "Search": "검색",
    "Payments with this reference": "이 참조의 결제",
    "No payment carried this reference.": "이 참조의 결제가 없습니다.",
    "Customer": "고객",
    "Merchant": "판매자",
    "Audit": "감사",
    "Verify the ledger now": "지금 원장 검증",
    "Newest merchants": "최근 판매자",
    "Newest customers": "최근 고객",
    "erased": "삭제됨",
    "Name": "이름",
    "Country": "국가",
    "(none kept)": "(보관 안 함)",
    "Erase the personal data": "개인정보 삭제",
    "Its data key is destroyed: the name and contact details are gone for good; the payments stay, by id.": (
        "데이터 키가 파기되어 이름과 연락처는 영구히 사라집니다. 결제 기록은 ID로 남습니다."
    ),
    "The personal data is erased.": "개인정보가 삭제되었습니다.",
    "Back to the console": "콘솔로 돌아가기",
    "The ledger is sound: every batch's hash and every balance agree.": "원장이 온전합니다. 모든 배치의 해시와 "
    "모든 잔액이 일치합니다.",
    "The ledger disagrees with itself:": "원장이 서로 맞지 않습니다:",
    "paid": "결제됨",
    "canceled": "취소됨",
    "waiting for the payer": "구매자 확인 대기",
    # The payer's own data.
    "Your data": "내 데이터",
    "Download everything held about you": "보관된 내 정보 모두 내려받기",
    "Erase my personal data": "내 개인정보 삭제",
    "I want to close my account: no more signing in; what my wallet holds stays on record.": "계정을 닫겠습니다. "
    "더 이상 로그인할 수 없으며 지갑 기록은 남습니다.",
    "Close my account": "계정 닫기",
    "Tick the box to say you mean it: nothing was closed.": "확인란을 선택해 주세요. 아무것도 닫히지 않았습니다.",
    "Your account is closed. Thank you for using Farthing.": "계정이 닫혔습니다. 파딩을 이용해 주셔서 감사합니다.",
    "Your personal data is erased.": "개인정보가 삭제되었습니다.",
}
