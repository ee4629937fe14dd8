# Messages of the JSON API's errors ({"error": {"code", "message"}}): the code stays English,
# the message is read by people. Library texts (JSON parsers, providers) arrive as { $detail }.

error-internal = internal error

## Admin API: tokens and roles
error-token-missing = Authorization: Bearer <token> is required
error-token-expired = the token has expired
error-token-invalid = the token is invalid
error-needs-support-role = this needs the support role
error-billing-read-only = the billing role is read-only
error-no-such-tenant = no such tenant
error-cluster-for-staff = the cluster's state is for support staff
error-health-for-staff = tenants' health is for support and billing
error-tenants-own-only = a tenant admin sees its own tenant only (GET /api/v1/tenants/{"{"}id{"}"})
error-usage-own-tenant = a tenant admin reads its own usage (GET /api/v1/tenants/{"{"}id{"}"}/usage)

## Cluster mode
error-not-clustered = this service runs as one node (REDIS_URL is not set)
error-redis-unavailable = Redis did not answer

## Fields and query parameters ($name is the field's name as the API spells it)
error-field-not-in-range = { $name } must be a number from 1 to { $max }
error-field-not-a-flag = { $name } must be true or false
error-field-not-an-id = { $name } must be a positive integer
error-field-too-long = { $name } must have at most { $max } characters
error-field-not-a-time = { $name } must be a date (YYYY-MM-DD) or an RFC 3339 time
error-field-not-one-of = { $name } must be one of { $allowed }
error-field-not-a-day = { $name } must be a date, YYYY-MM-DD
error-period-reversed = to must not be before from
error-period-too-long = a report covers at most { $days } days
error-tenant-name-length = name must have 1 to 200 characters
error-plan-name = plan must be 1 to 64 of [a-z0-9_-]
error-retention-out-of-plan = { $field } must be from 1 to { $max } days on this plan

## Users and logins
error-user-role = role: only tenant_admin users belong to a tenant
error-user-not-an-email = "{ $email }" is not an email address
error-user-needs-tenant = a tenant admin needs a tenant
error-user-global-with-tenant = a { $role } user sees every tenant and has none of its own
error-password-too-long = the password is too long (more than { $max } bytes)
error-password-too-short = the password is too short ({ $count } { $count ->
    [one] character
   *[other] characters
}): use at least { $min }
error-password-repeated = the password is one character repeated
error-email-taken = a user with this email exists
error-no-such-user = no such user
error-wrong-credentials = wrong email or password
error-too-many-logins = too many failed logins; try again later

## Things looked up
error-fault-hooks-disabled = fault hooks are disabled
error-billing-no-jobs = the billing role sees usage, not jobs
error-job-owner = owner must be portal:<id>, number:<id> or transcriber
error-unknown-job = no job with this id
error-job-not-failed = job { $id } is { $status }; only a failed (dead) job can be re-driven
error-field-empty = { $name } must not be empty
error-unknown-number = no number with this id
error-session-state = state must be a session state such as ok, token_invalid or authorized
error-quota-numbers = The { $plan } plan allows { $limit } connected WhatsApp { $limit ->
    [one] number
   *[other] numbers
} and this account has { $used } already. Disconnect a number, or ask your admin to upgrade the plan, to connect another.
error-unknown-message = no message with this id
error-unknown-chat = no chat with this customer on this number
error-line-id = line must be an Open Line id (digits)
error-unknown-portal = no installed portal with this member_id
error-unknown-gateway-number = no gateway number with this id

## WhatsApp numbers, gateways and templates ($detail: the provider's or library's own words)
error-waba-id = waba_id: the WhatsApp Business Account id, digits only
error-not-cloud-number = templates belong to Cloud API numbers; this one is a Web gateway number
error-no-business-account = the number's WhatsApp Business Account id (waba_id) is not set
error-whatsapp-refused = WhatsApp: { $detail }
error-no-such-template = template: the number has no template { $name } ({ $language })
error-template-unusable = template: { $why }
error-gateway-credentials = the gateway rejected this instance id or token
error-gateway-unavailable = the gateway did not answer as expected: { $detail }
error-api-url = api_url must be an http(s) URL
error-id-instance = id_instance must be digits
error-evolution-credentials = the Evolution API server rejected this API key (or has no instance of this name)
error-base-url = base_url must be an http(s) URL
error-unknown-media = no such file
error-media-expired = this file link has expired

## Limits
error-rate-limited-address = too many requests from this address; retry later
error-rate-limited-tenant = too many requests for this tenant; retry later
error-inbox-backlogged = this number's backlog of unprocessed messages is too long; retry later

## WhatsApp webhooks
error-verify-request = hub.mode must be subscribe, with hub.verify_token and hub.challenge
error-verify-token = verify token does not match a connected number
error-signature-missing = X-Hub-Signature-256 header is missing
error-signature-invalid = X-Hub-Signature-256 does not match the body
error-webhook-json = body is not valid JSON: { $detail }
error-unsupported-object = not a WhatsApp Business Account webhook (object = { $object })
error-webhook-token = Authorization does not carry this number's webhook token
error-evolution-webhook-secret = x-b24wa-secret does not carry this number's webhook secret, or the body's instance is not this number's
error-invalid-webhook = the gateway webhook could not be read: { $detail }
error-portal-uninstalled = the Bitrix24 app of this number's portal is uninstalled; retry later

## Requests
error-invalid-json = the body is not the JSON this route reads: { $detail }

## Other parts of a request ($detail: the parser's own words)
error-bad-path = nothing is here: { $detail }
error-bad-query = the query could not be read: { $detail }
error-bad-form = the form could not be read: { $detail }

## Bitrix24 events, install and the settings page
error-invalid-event = the event could not be read: { $detail }
error-portal-not-installed = this portal has not installed the app
error-bad-application-token = application_token does not match this portal
error-invalid-endpoint = client_endpoint must be an http(s) URL
error-oauth-server-not-allowed = the install names an OAuth server we do not use ({ $host })
error-portal-unreachable = the portal could not confirm the install: { $detail }
error-install-tokens-refused = the portal did not accept the tokens of this install
error-install-other-app = the portal says these tokens belong to another application ({ $code })
error-install-not-finished = the portal says the installation of the app is not finished; install it again
error-install-other-portal = the OAuth server says these tokens belong to another portal
error-oauth-unreachable = the OAuth server could not confirm the install: { $detail }
error-install-refresh-refused = the OAuth server did not refresh these tokens for our application ({ $code })
error-not-an-install-event = { $name } is not an install event
error-invalid-install = the install request could not be read: { $detail }
error-unknown-number-on-line = no such number on this line
error-page-expired = this page has expired

## The sandbox's page
error-sandbox-text-empty = text is empty
error-sandbox-text-too-long = text is longer than { $max } characters
error-sandbox-number = number is gateway or cloud
error-sandbox-not-accepted = the service answered { $status } to the simulated webhook or event
error-sandbox-no-phone-message = no such message written on the phone
error-sandbox-already-deleted = the message is already deleted
error-sandbox-no-chat = there is no chat yet: the customer writes first (Open Lines opens the chat then)
error-sandbox-no-operator-message = no such operator message
error-sandbox-not-delivered-yet = the message has not reached WhatsApp yet: try again in a moment
error-sandbox-no-business-message = no such message from the business on the phone
error-sandbox-no-button = that message has no such quick-reply button
error-sandbox-customer-first = the customer has not written to this number yet: write as the customer first
# Erasing and exporting a customer (admin API)
error-customer-invalid = `customer` must be the customer's phone number (8 to 15 digits), WhatsApp id, or LID (`123456789@lid`)
error-customer-unknown = this tenant has no conversation with this customer
error-export-format = `format` must be `json` or `csv`
