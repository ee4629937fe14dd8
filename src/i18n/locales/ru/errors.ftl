# Сообщения ошибок JSON API ({"error": {"code", "message"}}): code остаётся английским,
# message читают люди. Тексты библиотек (разбор JSON, ответы провайдеров) приходят как { $detail }.

error-internal = внутренняя ошибка

## Admin API: токены и роли
error-token-missing = нужен заголовок Authorization: Bearer <token>
error-token-expired = срок действия токена истёк
error-token-invalid = токен недействителен
error-needs-support-role = для этого нужна роль поддержки (support)
error-billing-read-only = роль billing только для чтения
error-no-such-tenant = такого клиента нет
error-cluster-for-staff = состояние кластера доступно только техподдержке
error-health-for-staff = состояние организаций доступно техподдержке и биллингу
error-tenants-own-only = администратор организации видит только свою организацию (GET /api/v1/tenants/{"{"}id{"}"})
error-usage-own-tenant = администратор организации смотрит использование только своей организации (GET /api/v1/tenants/{"{"}id{"}"}/usage)

## Кластер
error-not-clustered = сервис работает на одном узле (REDIS_URL не задан)
error-redis-unavailable = Redis не ответил

## Поля и параметры запроса ($name — имя поля, как его пишет API)
error-field-not-in-range = { $name }: нужно число от 1 до { $max }
error-field-not-a-flag = { $name }: нужно true или false
error-field-not-an-id = { $name }: нужно целое положительное число
error-field-too-long = { $name }: не более { $max ->
    [one] { $max } символа
    [few] { $max } символов
   *[many] { $max } символов
}
error-field-not-a-time = { $name }: нужна дата (YYYY-MM-DD) или время в формате RFC 3339
error-field-not-one-of = { $name }: допустимые значения — { $allowed }
error-field-not-a-day = { $name }: нужна дата в формате YYYY-MM-DD
error-period-reversed = to не может быть раньше from
error-period-too-long = отчёт охватывает не более { $days ->
    [one] { $days } дня
   *[other] { $days } дней
}
error-tenant-name-length = name: от 1 до 200 символов
error-plan-name = plan: от 1 до 64 символов из [a-z0-9_-]
error-retention-out-of-plan = { $field }: на этом тарифе — от 1 до { $max ->
    [one] { $max } дня
   *[other] { $max } дней
}

## Пользователи и вход
error-user-role = role: к организации относятся только пользователи tenant_admin
error-user-not-an-email = «{ $email }» — не адрес электронной почты
error-user-needs-tenant = администратору организации нужна организация
error-user-global-with-tenant = пользователь с ролью { $role } видит все организации, своей у него нет
error-password-too-long = пароль слишком длинный (больше { $max } байт)
error-password-too-short = пароль слишком короткий ({ $count } { $count ->
    [one] символ
    [few] символа
   *[many] символов
}): нужно не меньше { $min }
error-password-repeated = пароль состоит из одного повторяющегося символа
error-email-taken = пользователь с такой почтой уже есть
error-no-such-user = такого пользователя нет
error-wrong-credentials = неверная почта или пароль
error-too-many-logins = слишком много неудачных попыток входа; попробуйте позже

## Поиск объектов
error-fault-hooks-disabled = точки внедрения сбоев выключены
error-billing-no-jobs = роль billing видит использование, но не задания
error-job-owner = owner: нужно portal:<id>, number:<id> или transcriber
error-unknown-job = задания с таким id нет
error-job-not-failed = задание { $id } в статусе { $status }; перезапустить можно только задание с ошибкой (dead)
error-field-empty = { $name }: поле не может быть пустым
error-unknown-number = номера с таким id нет
error-session-state = state: нужно состояние сессии, например ok, token_invalid или authorized
error-quota-numbers = Тариф { $plan } позволяет подключить { $limit ->
    [one] { $limit } номер
    [few] { $limit } номера
   *[many] { $limit } номеров
} WhatsApp, а в этом аккаунте их уже { $used }. Чтобы подключить ещё один, отключите какой-нибудь номер или попросите администратора перейти на тариф побольше.
error-unknown-message = сообщения с таким id нет
error-unknown-chat = на этом номере нет чата с этим клиентом
error-line-id = line: нужен id открытой линии (цифры)
error-unknown-portal = нет установленного портала с таким member_id
error-unknown-gateway-number = номера шлюза с таким id нет

## Номера WhatsApp, шлюзы и шаблоны ($detail — слова самого провайдера или библиотеки)
error-waba-id = waba_id: id аккаунта WhatsApp Business, только цифры
error-not-cloud-number = шаблоны есть только у номеров Cloud API, а это номер WhatsApp Web шлюза
error-no-business-account = у номера не указан id аккаунта WhatsApp Business (waba_id)
error-whatsapp-refused = ответ WhatsApp: { $detail }
error-no-such-template = template: у номера нет шаблона { $name } ({ $language })
error-template-unusable = template: { $why }
error-gateway-credentials = шлюз не принял этот id инстанса или токен
error-gateway-unavailable = шлюз ответил не так, как ожидалось: { $detail }
error-api-url = api_url: нужен адрес http(s)
error-id-instance = id_instance: только цифры
error-evolution-credentials = сервер Evolution API не принял этот API-ключ (или у него нет инстанса с таким именем)
error-base-url = base_url: нужен адрес http(s)
error-unknown-media = такого файла нет
error-media-expired = срок действия ссылки на файл истёк

## Ограничения
error-rate-limited-address = слишком много запросов с этого адреса; повторите позже
error-rate-limited-tenant = слишком много запросов для этой организации; повторите позже
error-inbox-backlogged = у этого номера слишком много необработанных сообщений; повторите позже

## Вебхуки WhatsApp
error-verify-request = hub.mode должен быть subscribe, с hub.verify_token и hub.challenge
error-verify-token = verify token не подходит ни к одному подключённому номеру
error-signature-missing = нет заголовка X-Hub-Signature-256
error-signature-invalid = X-Hub-Signature-256 не соответствует телу запроса
error-webhook-json = тело запроса — некорректный JSON: { $detail }
error-unsupported-object = это не вебхук аккаунта WhatsApp Business (object = { $object })
error-webhook-token = в Authorization нет вебхук-токена этого номера
error-evolution-webhook-secret = в x-b24wa-secret нет вебхук-секрета этого номера, или instance в теле — не инстанс этого номера
error-invalid-webhook = вебхук шлюза не удалось прочитать: { $detail }
error-portal-uninstalled = приложение Битрикс24 на портале этого номера удалено; повторите позже

## Запросы
error-invalid-json = тело запроса — не тот JSON, который ожидает этот метод: { $detail }

## Другие части запроса ($detail — слова самого парсера)
error-bad-path = здесь ничего нет: { $detail }
error-bad-query = параметры запроса не удалось прочитать: { $detail }
error-bad-form = форму не удалось прочитать: { $detail }

## События Битрикс24, установка и страница настроек
error-invalid-event = событие не удалось прочитать: { $detail }
error-portal-not-installed = на этом портале приложение не установлено
error-bad-application-token = application_token не совпадает с токеном этого портала
error-invalid-endpoint = client_endpoint: нужен адрес http(s)
error-oauth-server-not-allowed = установка указывает OAuth-сервер, с которым мы не работаем ({ $host })
error-portal-unreachable = портал не смог подтвердить установку: { $detail }
error-install-tokens-refused = портал не принял токены этой установки
error-install-other-app = портал сообщает, что эти токены выданы другому приложению ({ $code })
error-install-not-finished = портал сообщает, что установка приложения не завершена; установите его ещё раз
error-install-other-portal = OAuth-сервер сообщает, что эти токены выданы другому порталу
error-oauth-unreachable = OAuth-сервер не смог подтвердить установку: { $detail }
error-install-refresh-refused = OAuth-сервер не обновил эти токены для нашего приложения ({ $code })
error-not-an-install-event = { $name } — не событие установки
error-invalid-install = запрос установки не удалось прочитать: { $detail }
error-unknown-number-on-line = на этой линии нет такого номера
error-page-expired = срок действия страницы истёк

## Страница песочницы
error-sandbox-text-empty = текст пустой
error-sandbox-text-too-long = текст длиннее { $max ->
    [one] { $max } символа
   *[other] { $max } символов
}
error-sandbox-number = number: gateway или cloud
error-sandbox-not-accepted = сервис ответил { $status } на имитацию вебхука или события
error-sandbox-no-phone-message = на телефоне нет такого сообщения
error-sandbox-already-deleted = сообщение уже удалено
error-sandbox-no-chat = чата ещё нет: первым пишет клиент (тогда Открытые линии откроют чат)
error-sandbox-no-operator-message = такого сообщения оператора нет
error-sandbox-not-delivered-yet = сообщение ещё не дошло до WhatsApp: попробуйте через мгновение
error-sandbox-no-business-message = на телефоне нет такого сообщения от компании
error-sandbox-no-button = у этого сообщения нет такой кнопки быстрого ответа
error-sandbox-customer-first = клиент ещё не писал на этот номер: сначала напишите от имени клиента
# Удаление данных клиента и выгрузка переписки (API администратора)
error-customer-invalid = в `customer` нужен номер телефона клиента (от 8 до 15 цифр), его WhatsApp id или LID (`123456789@lid`)
error-customer-unknown = у этой организации нет переписки с этим клиентом
error-export-format = `format` должен быть `json` или `csv`
