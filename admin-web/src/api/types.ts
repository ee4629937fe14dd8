// The admin API's shapes (src/http/api/*.rs in the service). Times are Unix milliseconds unless
// a field says otherwise.

export type Role = 'tenant_admin' | 'support' | 'billing';

export interface Page<T> {
  items: T[];
  /** 1-based. */
  page: number;
  per_page: number;
  /** Items matching across all pages. */
  total: number;
}

export interface PageQuery {
  page?: number;
  per_page?: number;
}

export interface User {
  id: number;
  email: string;
  role: Role;
  tenant_id: number | null;
  disabled: boolean;
  created_at: number;
  last_login_at: number | null;
}

export interface SessionView {
  access_token: string;
  refresh_token: string;
  token_type: string;
  /** Seconds the access token lives. */
  expires_in: number;
  user: User;
}

export interface Me {
  sub: string;
  role: Role;
  /** A tenant admin's tenant; null for support and billing. */
  tenant: number | null;
  /** Unix seconds. */
  expires_at: number;
  user: User | null;
}

export interface Tenant {
  id: number;
  name: string;
  plan: string;
  created_at: number;
}

/** The languages the service speaks to operators (notices in Open Lines chats). */
export type PortalLanguage = 'ru' | 'en';

export interface Portal {
  id: number;
  member_id: string;
  domain: string;
  installed: boolean;
  /** The language operator notices go in: the override, else Bitrix24's by the fallback rule. */
  language?: PortalLanguage;
  /** Bitrix24's own language id last seen for the portal (`ru`, `en`, `ua`, `kz`, ...). */
  language_from_bitrix24?: string | null;
  /** Chosen in the admin app; null: follow Bitrix24. */
  language_override?: PortalLanguage | null;
  /** The tenant that owns the portal (null only for portals older than tenants). */
  tenant_id?: number | null;
  /** When the app was uninstalled (ms); null while installed. */
  uninstalled_at?: number | null;
  /** An uninstall that asked to delete the app's data: purged after this (ms) unless reinstalled. */
  purge_after?: number | null;
  /** When that purge was done (ms). */
  purged_at?: number | null;
}

/** A tenant's retention in days (0: for ever); `null` own values follow the service's defaults. */
export interface RetentionView {
  id: number;
  messages_days: number | null;
  media_days: number | null;
  effective_messages_days: number;
  effective_media_days: number;
  default_messages_days: number;
  default_media_days: number;
  /** The plan's cap; null: none (0 allowed). */
  max_messages_days: number | null;
  max_media_days: number | null;
}

export interface RetentionChange {
  messages_days: number | null;
  media_days: number | null;
}

export interface TenantDetail extends Tenant {
  portals: Portal[];
}

export type Transport = 'cloud' | 'gateway';

export interface NumberView {
  id: number;
  portal_id: number;
  line: string;
  transport: Transport;
  phone_number_id: string;
  display_phone: string;
  active: boolean;
  /** Cloud: `ok` or `token_invalid`; gateway: `authorized`, `notAuthorized`, `blocked`, ... */
  session_state: string;
  session_changed_at: number | null;
}

export interface ConnectedView {
  number: NumberView;
  activation: 'active' | 'failed' | 'pending';
  activation_error: string | null;
  webhook_url: string;
}

export interface ConnectCloud {
  member_id: string;
  line: string;
  phone_number_id: string;
  display_phone: string;
  access_token: string;
  app_secret: string;
  verify_token: string;
  /** The WhatsApp Business Account: its templates are synced right after connecting. */
  waba_id?: string;
}

/** A template's button as Meta lists it (`QUICK_REPLY`, `URL`, `PHONE_NUMBER`, `COPY_CODE`, ...). */
export interface TemplateButton {
  type: string;
  text?: string;
  url?: string;
  phone_number?: string;
}

/** One component of a template as Meta lists it: `HEADER`, `BODY`, `FOOTER` or `BUTTONS`. */
export interface TemplateComponent {
  type: string;
  /** HEADER: `TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT`, `LOCATION`. */
  format?: string;
  text?: string;
  buttons?: TemplateButton[];
  example?: {
    header_text?: string[];
    body_text?: string[][];
    header_text_named_params?: { param_name: string; example: string }[];
    body_text_named_params?: { param_name: string; example: string }[];
  };
}

/** A message template of a Cloud API number's WhatsApp Business Account (`GET /numbers/{id}/templates`). */
export interface TemplateView {
  id: number;
  /** Meta's template id. */
  template_id: string;
  name: string;
  /** e.g. `en_US`. */
  language: string;
  /** `MARKETING`, `UTILITY`, `AUTHENTICATION`. */
  category: string;
  /** `APPROVED` (the only sendable one), `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, ... */
  status: string;
  /** Why the status last changed, when Meta said. */
  reason: string | null;
  parameter_format: 'POSITIONAL' | 'NAMED';
  components: TemplateComponent[];
  synced_at: number;
  updated_at: number;
}

export interface TemplateRef {
  name: string;
  language: string;
}

export interface TemplatesView {
  /** The number's WhatsApp Business Account, once named. */
  waba_id: string | null;
  /** What a CRM or robot message goes as when the customer's 24-hour window is closed. */
  default_template?: TemplateRef | null;
  /** By name, then language. */
  templates: TemplateView[];
}

export interface ConnectGateway {
  member_id: string;
  line: string;
  api_url: string;
  id_instance: string;
  api_token_instance: string;
  display_phone: string;
}

/** An Evolution API instance (the self-hosted gateway): created or reused on the server. */
export interface ConnectEvolution {
  provider: 'evolution';
  member_id: string;
  line: string;
  base_url: string;
  instance: string;
  api_key: string;
  display_phone: string;
}

export interface QrView {
  state: string;
  /** `data:image/png;base64,...` while the phone is not linked. */
  qr: string | null;
  message?: string;
}

export interface Chat {
  id: number;
  number_id: number;
  customer_wa_id: string;
  customer_name: string;
  b24_chat_id: string | null;
  messages: number;
  last_message_at: number | null;
  created_at: number;
  /** The Cloud API's 24-hour window for free messages; absent on Web gateway numbers. */
  window?: ChatWindow | null;
}

export interface ChatWindow {
  state: 'open' | 'closed';
  /** Unix ms: when an open window closes. */
  open_until: number | null;
  /** Unix ms: when a closed window closed; null when the customer never wrote. */
  closed_since: number | null;
}

export type Direction = 'in' | 'out';

/** A message as `GET /numbers/{id}/chats/{wa_id}/messages` and `GET /messages` show it. */
export interface Message {
  id: number;
  chat_id: number;
  direction: Direction;
  kind: string;
  text: string;
  /** in: received, forwarded, failed, deleted; out: queued, sent, delivered, read, failed, deleted. */
  status: string;
  error: string | null;
  wamid: string | null;
  b24_chat_id: string | null;
  b24_message_id: string | null;
  transcript: string | null;
  media_id: number | null;
  sent_at: number | null;
  delivered_at: number | null;
  read_at: number | null;
  created_at: number;
  updated_at?: number;
  /** Search results only. */
  number_id?: number;
  customer_wa_id?: string;
}

export interface ChatMessages {
  chat: { id: number; b24_chat_id: string | null; customer_name: string };
  /** Oldest first. */
  messages: Message[];
}

export interface Hop {
  hop: string;
  at: number;
  detail: string | null;
}

export interface Job {
  id: number;
  owner: string;
  queue_key: string;
  kind: string;
  /** pending, done or dead. */
  status: 'pending' | 'done' | 'dead';
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  message_id: number | null;
  created_at: number;
  updated_at: number;
}

export interface Trace {
  message: Message;
  number: { id: number; portal_id: number; display_phone: string; transport: Transport; line: string };
  customer_name: string;
  /** Oldest first. */
  hops: Hop[];
  jobs: Job[];
}

export interface AuditRecord {
  id: number;
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  at: number;
}

export interface Figures {
  inbound: number;
  outbound: number;
  media: number;
  transcribed: number;
  transcribed_seconds: number;
}

export interface UsageDay extends Figures {
  /** YYYY-MM-DD (UTC). */
  date: string;
}

export interface Usage {
  tenant_id: number;
  tenant_name: string;
  plan: string;
  from: string;
  to: string;
  totals: Figures;
  active_numbers: number;
  connected_numbers: number;
  days: UsageDay[];
  /** The plan's quotas against this month (whatever the period). */
  plan_use: PlanUse;
}

/** One quota of a plan against what was used (`limit` null: unlimited). */
export interface QuotaUse {
  quota: 'numbers' | 'messages' | 'transcription_minutes' | string;
  used: number;
  limit: number | null;
  percent: number | null;
  over: boolean;
}

export interface PlanUse {
  /** `YYYY-MM` (UTC). */
  month: string;
  /** False: the plan is not configured, so nothing is limited. */
  known_plan: boolean;
  quotas: QuotaUse[];
  /** Quotas gone over this month (`messages`, `transcription_minutes`). */
  over_quota: string[];
}

export interface Plan {
  name: string;
  numbers: number | null;
  messages_per_month: number | null;
  transcription_minutes: number | null;
}

export interface TenantHealth {
  tenant_id: number;
  tenant_name: string;
  plan: string;
  status: 'ok' | 'warning' | 'error';
  numbers: number;
  numbers_not_authorized: number;
  dead_jobs: number;
  pending_jobs: number;
  portals_token_errors: number;
  portals_uninstalled: number;
  last_message_at: number | null;
  over_quota: string[];
}

/** What erasing a customer removed (all zero when nothing was left). */
export interface ErasedCustomer {
  customer: string;
  chats: number;
  messages: number;
  files: number;
  inbox_items: number;
  jobs: number;
}

export interface ExportedMessage {
  at: number;
  time: string;
  direction: 'in' | 'out';
  kind: string;
  text: string;
  transcript: string | null;
  status: string;
  error: string | null;
  number: string;
  file: { name: string; mime: string; size: number; url: string; expires_at: number } | null;
}

/** A customer's conversation, as exported for a data-access request. */
export interface ConversationExport {
  tenant_id: number;
  customer: string;
  customer_name: string;
  exported_at: number;
  messages: ExportedMessage[];
}
