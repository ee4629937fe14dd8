// One typed function per admin API route the app uses (README: API).

import { ApiClient, asPage } from './client';
import type {
  AuditRecord,
  RetentionChange,
  RetentionView,
  Chat,
  ChatMessages,
  ConnectCloud,
  ConnectedView,
  ConnectEvolution,
  ConnectGateway,
  ConversationExport,
  ErasedCustomer,
  Job,
  Me,
  Message,
  NumberView,
  Page,
  PageQuery,
  Plan,
  Portal,
  PortalLanguage,
  QrView,
  TemplateRef,
  TemplatesView,
  Tenant,
  TenantDetail,
  TenantHealth,
  Trace,
  Usage,
} from './types';

export interface Period {
  from?: string;
  to?: string;
}

export function endpoints(c: ApiClient) {
  const page = <T>(path: string, q: Record<string, string | number | boolean | undefined>, signal?: AbortSignal) =>
    c.get<Page<T> | T[]>(path, q, signal).then((raw) => asPage(raw));
  return {
    me: (signal?: AbortSignal) => c.get<Me>('/auth/me', undefined, signal),

    portals: (q: PageQuery & { q?: string; installed?: boolean }, signal?: AbortSignal) =>
      page<Portal>('/portals', { ...q }, signal),
    /** The language of the portal's operator notices; `null` follows Bitrix24 again. */
    setPortalLanguage: (id: number, language: PortalLanguage | null) => c.put<Portal>(`/portals/${id}/language`, { language }),

    numbers: (q: PageQuery & { portal_id?: number; transport?: string; state?: string; active?: boolean; q?: string }, signal?: AbortSignal) =>
      page<NumberView>('/numbers', { ...q }, signal),
    connectCloud: (body: ConnectCloud) => c.post<ConnectedView>('/numbers', body),
    connectGateway: (body: ConnectGateway | ConnectEvolution) => c.post<ConnectedView>('/numbers/gateway', body),
    qr: (id: number, signal?: AbortSignal) => c.get<QrView>(`/numbers/${id}/qr`, undefined, signal),
    disconnect: (id: number) => c.post<{ number: NumberView }>(`/numbers/${id}/disconnect`),
    templates: (id: number, signal?: AbortSignal) => c.get<TemplatesView>(`/numbers/${id}/templates`, undefined, signal),
    /** Lists the account's templates from Meta again; `waba_id` names the account first. */
    syncTemplates: (id: number, waba_id?: string) => c.post<TemplatesView>(`/numbers/${id}/templates/sync`, waba_id ? { waba_id } : {}),
    /** Names (or with `null`, clears) the template CRM messages go as when the window is closed. */
    setDefaultTemplate: (id: number, template: TemplateRef | null) => c.put<TemplatesView>(`/numbers/${id}/templates/default`, { template }),

    chats: (q: PageQuery & { number_id?: number; q?: string }, signal?: AbortSignal) => page<Chat>('/chats', { ...q }, signal),
    chatMessages: (numberId: number, waId: string, signal?: AbortSignal) =>
      c.get<ChatMessages>(`/numbers/${numberId}/chats/${encodeURIComponent(waId)}/messages`, undefined, signal),

    searchMessages: (
      q: PageQuery & { q?: string; number_id?: number; chat_id?: number; direction?: string; status?: string; from?: string; to?: string },
      signal?: AbortSignal,
    ) => page<Message>('/messages', { ...q }, signal),
    trace: (id: number, signal?: AbortSignal) => c.get<Trace>(`/messages/${id}`, undefined, signal),

    jobs: (q: PageQuery & { status?: string; kind?: string; owner?: string }, signal?: AbortSignal) => page<Job>('/jobs', { ...q }, signal),
    redrive: (id: number) => c.post<Job>(`/jobs/${id}/redrive`),

    tenants: (q: PageQuery, signal?: AbortSignal) => page<Tenant>('/tenants', { ...q }, signal),
    tenantsHealth: (q: PageQuery, signal?: AbortSignal) => page<TenantHealth>('/tenants/health', { ...q }, signal),
    plans: (signal?: AbortSignal) => c.get<{ items: Plan[]; unknown_plan: string }>('/plans', undefined, signal),
    tenant: (id: number, signal?: AbortSignal) => c.get<TenantDetail>(`/tenants/${id}`, undefined, signal),
    retention: (id: number, signal?: AbortSignal) => c.get<RetentionView>(`/tenants/${id}/retention`, undefined, signal),
    setRetention: (id: number, body: RetentionChange) => c.put<RetentionView>(`/tenants/${id}/retention`, body),
    audit: (q: PageQuery & { actor?: string; action?: string }, signal?: AbortSignal) => page<AuditRecord>('/audit', { ...q }, signal),

    /** Erases everything stored about one customer of the tenant (typed phone, WhatsApp id or LID). */
    eraseCustomer: (tenantId: number, customer: string) => c.post<ErasedCustomer>(`/tenants/${tenantId}/customers/erase`, { customer }),
    /** One customer's conversation, for a data-access request (file links expire). */
    exportConversation: (tenantId: number, customer: string) =>
      c.get<ConversationExport>(`/tenants/${tenantId}/customers/export`, { customer, format: 'json' }),
    exportConversationCsv: (tenantId: number, customer: string) =>
      c.getText(`/tenants/${tenantId}/customers/export`, { customer, format: 'csv' }),

    usage: (tenantId: number, period: Period, signal?: AbortSignal) =>
      c.get<Usage>(`/tenants/${tenantId}/usage`, { ...period }, signal),
    allUsage: (q: PageQuery & Period, signal?: AbortSignal) => page<Usage>('/usage', { ...q }, signal),
  };
}

export type Api = ReturnType<typeof endpoints>;
