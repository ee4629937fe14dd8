// A Cloud API number's message templates: its WhatsApp Business Account, a sync from WhatsApp on
// demand, and each template with its review status and a preview.

import { Alert, Anchor, Badge, Button, Code, Group, Paper, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { IconArrowLeft, IconPencil, IconRefresh, IconSearch, IconTemplate } from '@tabler/icons-react';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../api';
import { ApiError } from '../api/client';
import type { TemplateRef, TemplatesView, TemplateView } from '../api/types';
import { useMe } from '../auth/AuthContext';
import { PageHeader } from '../components/Layout';
import { EmptyState, ErrorState, LoadingState } from '../components/States';
import { TemplatePreview } from '../components/TemplatePreview';
import { formatDateTime, formatPhone, formatRelative } from '../lib/format';
import { canWrite } from '../lib/roles';
import { canCarryText, lastSynced, templateStatusColor } from '../lib/templates';
import { useApi } from '../lib/useApi';

/** Status changes arrive by webhook; the list follows them at this pace. */
const POLL_MS = 30_000;
const HINT = 'WhatsApp Manager → Account tools shows the WhatsApp Business Account ID.';

type Outcome = { ok: true; count: number; approved: number } | { ok: false; title: string; message: string };

/** `UTILITY` → `Utility`, `INVALID_FORMAT` → `Invalid format`. */
function words(s: string): string {
  const t = s.replace(/_/g, ' ').toLowerCase();
  return t.charAt(0).toUpperCase() + t.slice(1);
}

function outcomeOf(e: unknown): Outcome {
  if (!(e instanceof ApiError)) return { ok: false, title: 'The sync failed', message: String(e) };
  switch (e.code) {
    case 'no_business_account':
      return { ok: false, title: 'Name the account first', message: `Enter the WhatsApp Business Account ID of this number. ${HINT}` };
    case 'invalid_field':
      return { ok: false, title: 'Not an account ID', message: 'The WhatsApp Business Account ID is digits only.' };
    case 'not_cloud_number':
      return { ok: false, title: 'No templates here', message: 'Only Cloud API numbers have templates.' };
    case 'whatsapp_refused':
      return { ok: false, title: 'WhatsApp refused the sync', message: e.message };
    default:
      return { ok: false, title: 'The sync failed', message: e.message };
  }
}

export function Templates() {
  const id = Number(useParams().id);
  const writable = canWrite(useMe().role);
  const list = useApi((signal) => api.templates(id, signal), [id], { pollMs: POLL_MS });
  const number = useApi((signal) => api.numbers({ per_page: 200 }, signal).then((p) => p.items.find((n) => n.id === id) ?? null), [id]);
  const [syncing, setSyncing] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [editing, setEditing] = useState(false);
  const [account, setAccount] = useState('');
  const [accountError, setAccountError] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  // A sync's answer, shown until the list itself is loaded again.
  const [fresh, setFresh] = useState<TemplatesView | null>(null);
  useEffect(() => setFresh(null), [list.data]);
  const view = fresh ?? list.data;

  const wabaId = view?.waba_id ?? null;
  const templates = view?.templates ?? [];
  const last = lastSynced(templates);
  const askAccount = writable && view !== undefined && (wabaId === null || editing);
  const gateway = number.data?.transport === 'gateway';
  const phone = number.data ? formatPhone(number.data.display_phone || number.data.phone_number_id) : null;

  const sync = async (e: FormEvent) => {
    e.preventDefault();
    const given = askAccount ? account.trim() : '';
    if (askAccount && !/^\d{1,32}$/.test(given)) {
      setAccountError(given ? 'Digits only, as WhatsApp Manager shows it' : 'Enter the account ID');
      return;
    }
    setAccountError(null);
    setSyncing(true);
    setOutcome(null);
    try {
      const res = await api.syncTemplates(id, given || undefined);
      setOutcome({ ok: true, count: res.templates.length, approved: res.templates.filter((t) => t.status === 'APPROVED').length });
      setFresh(res);
      setEditing(false);
      setAccount('');
      list.reload();
    } catch (err) {
      const o = outcomeOf(err);
      setOutcome(o);
      // The account is stored even when Meta then refuses it: show it, and keep the form open.
      if (given || (err instanceof ApiError && err.code === 'no_business_account')) setEditing(true);
      if (given) list.reload();
      if (err instanceof ApiError && err.code === 'invalid_field') setAccountError(o.ok ? null : o.message);
    } finally {
      setSyncing(false);
    }
  };

  const [defaultError, setDefaultError] = useState<string | null>(null);
  const setDefault = async (template: TemplateRef | null) => {
    setDefaultError(null);
    try {
      setFresh(await api.setDefaultTemplate(id, template));
    } catch (err) {
      setDefaultError(err instanceof Error ? err.message : String(err));
    }
  };

  const q = filter.trim().toLowerCase();
  const shown = q ? templates.filter((t) => t.name.toLowerCase().includes(q)) : templates;
  const approved = templates.filter((t) => t.status === 'APPROVED').length;

  return (
    <>
      <Anchor component={Link} to="/numbers" size="sm">
        <Group gap={4} mb="xs">
          <IconArrowLeft size={14} /> Numbers
        </Group>
      </Anchor>
      <PageHeader
        title="Templates"
        description={`Message templates${phone ? ` of ${phone}` : ''}. Only approved ones can be sent to a customer outside the 24-hour window.`}
      />
      {gateway ? (
        <Alert color="gray" title="No templates for a linked phone" data-testid="templates-gateway">
          Templates belong to Cloud API numbers; a phone linked through a Web gateway sends free text only.
        </Alert>
      ) : list.error && !view ? (
        <ErrorState error={list.error} onRetry={list.reload} />
      ) : !view ? (
        <LoadingState rows={3} />
      ) : (
        <>
          <Paper withBorder radius="md" p="md" mb="lg">
            <form onSubmit={sync} noValidate>
              <Group justify="space-between" align="flex-end" gap="md" wrap="wrap">
                {askAccount ? (
                  <Group align="flex-end" gap="xs" wrap="wrap" style={{ flex: 1, minWidth: 260 }}>
                    <TextInput
                      label="WhatsApp Business Account ID"
                      description={HINT}
                      placeholder="e.g. 102290129340398"
                      inputMode="numeric"
                      name="waba_id"
                      value={account}
                      onChange={(ev) => setAccount(ev.currentTarget.value)}
                      error={accountError}
                      style={{ flex: 1, minWidth: 240, maxWidth: 540 }}
                      data-testid="waba-input"
                    />
                    {wabaId !== null && (
                      <Button
                        variant="default"
                        onClick={() => {
                          setEditing(false);
                          setAccountError(null);
                        }}
                      >
                        Cancel
                      </Button>
                    )}
                  </Group>
                ) : (
                  <div>
                    <Text size="xs" c="dimmed">
                      WhatsApp Business Account
                    </Text>
                    <Group gap="xs">
                      {wabaId ? (
                        <Code fz="sm" data-testid="waba-id">
                          {wabaId}
                        </Code>
                      ) : (
                        <Text size="sm" c="dimmed">
                          not named yet
                        </Text>
                      )}
                      {writable && wabaId && (
                        <Anchor component="button" type="button" size="xs" onClick={() => { setAccount(wabaId); setEditing(true); }} data-testid="waba-change">
                          <Group gap={2}>
                            <IconPencil size={12} /> Change
                          </Group>
                        </Anchor>
                      )}
                    </Group>
                  </div>
                )}
                <Group gap="md" align="flex-end" wrap="nowrap">
                  <div style={{ textAlign: 'right' }}>
                    <Text size="xs" c="dimmed">
                      Last synced
                    </Text>
                    <Text size="sm" title={last ? formatDateTime(last) : undefined} data-testid="last-synced">
                      {last ? formatRelative(last) : 'not yet'}
                    </Text>
                  </div>
                  {writable && (
                    <Button type="submit" loading={syncing} leftSection={<IconRefresh size={16} />} data-testid="sync-templates">
                      Sync from WhatsApp
                    </Button>
                  )}
                </Group>
              </Group>
            </form>
            {outcome && (
              <Alert
                mt="md"
                color={outcome.ok ? 'green' : 'red'}
                title={outcome.ok ? undefined : outcome.title}
                withCloseButton
                onClose={() => setOutcome(null)}
                data-testid="sync-outcome"
                data-ok={outcome.ok}
              >
                {outcome.ok
                  ? `Synced: ${outcome.count} ${outcome.count === 1 ? 'template' : 'templates'}, ${outcome.approved} approved.`
                  : outcome.message}
              </Alert>
            )}
          </Paper>

          {templates.length === 0 ? (
            <Paper withBorder radius="md">
              <EmptyState
                title="No templates yet"
                description={
                  wabaId
                    ? 'Create templates in WhatsApp Manager, then sync from WhatsApp.'
                    : 'Sync from WhatsApp after naming the account.'
                }
                icon={<IconTemplate size={26} />}
              />
            </Paper>
          ) : (
            <>
              <Text size="sm" mb="sm" data-testid="default-template">
                {view?.default_template
                  ? `Messages from CRM cards and robots go as "${view.default_template.name}" (${view.default_template.language}) when the customer's 24-hour window is closed.`
                  : 'Messages from CRM cards and robots are not sent when the customer\'s 24-hour window is closed: choose a template with one variable to carry them.'}
              </Text>
              {defaultError && (
                <Alert color="red" mb="sm" data-testid="default-template-error">
                  {defaultError}
                </Alert>
              )}
              <Group justify="space-between" mb="sm" gap="sm" wrap="wrap">
                <Text size="sm" c="dimmed" data-testid="templates-count">
                  {templates.length} {templates.length === 1 ? 'template' : 'templates'}, {approved} approved
                </Text>
                <TextInput
                  placeholder="Filter by name"
                  leftSection={<IconSearch size={16} />}
                  value={filter}
                  onChange={(ev) => setFilter(ev.currentTarget.value)}
                  style={{ flex: 1, minWidth: 200, maxWidth: 320 }}
                  data-testid="templates-filter"
                />
              </Group>
              {shown.length === 0 ? (
                <EmptyState title="No template matches" description="Try a part of the name." icon={<IconSearch size={26} />} />
              ) : (
                <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md" data-testid="templates">
                  {shown.map((t) => (
                    <TemplateCard
                      key={t.id}
                      t={t}
                      isDefault={view?.default_template?.name === t.name && view?.default_template?.language === t.language}
                      onDefault={writable && canCarryText(t) ? setDefault : undefined}
                    />
                  ))}
                </SimpleGrid>
              )}
            </>
          )}
        </>
      )}
    </>
  );
}

function TemplateCard({
  t,
  isDefault,
  onDefault,
}: {
  t: TemplateView;
  isDefault: boolean;
  /** Set (or clear) this template as the default for CRM messages, when the caller may. */
  onDefault?: (template: TemplateRef | null) => void;
}) {
  // Meta says `NONE` when a status change has no reason.
  const reason = t.reason && t.reason.toUpperCase() !== 'NONE' ? t.reason : null;
  return (
    <Paper withBorder radius="md" p="md" data-testid="template" data-name={t.name} data-status={t.status}>
      <Stack gap="sm" h="100%">
        <Group justify="space-between" align="flex-start" wrap="nowrap" gap="sm">
          <div style={{ minWidth: 0 }}>
            <Text fw={600} ff="monospace" size="sm" truncate title={t.name}>
              {t.name}
            </Text>
            <Group gap={6} mt={2}>
              <Badge variant="outline" color="gray" size="sm" radius="sm" tt="none">
                {t.language}
              </Badge>
              <Text size="xs" c="dimmed">
                {words(t.category)}
                {t.parameter_format === 'NAMED' ? ' · named variables' : ''}
              </Text>
            </Group>
          </div>
          <Badge color={templateStatusColor(t.status)} variant="light" data-testid="template-status" data-status={t.status} style={{ flexShrink: 0 }}>
            {words(t.status)}
          </Badge>
        </Group>
        {reason && (
          <Text size="xs" c={templateStatusColor(t.status) === 'red' ? 'red.7' : 'dimmed'} data-testid="template-reason">
            Reason: {words(reason)}
          </Text>
        )}
        <TemplatePreview components={Array.isArray(t.components) ? t.components : []} />
        {(isDefault || onDefault) && (
          <Group gap="xs">
            {isDefault && (
              <Badge color="teal" variant="light" data-testid="template-default">
                For CRM messages
              </Badge>
            )}
            {onDefault && (
              <Button
                size="compact-xs"
                variant="subtle"
                data-testid="template-set-default"
                onClick={() => onDefault(isDefault ? null : { name: t.name, language: t.language })}
              >
                {isDefault ? 'Stop using for CRM messages' : 'Use for CRM messages'}
              </Button>
            )}
          </Group>
        )}
        <Text size="xs" c="dimmed" mt="auto" title={formatDateTime(t.updated_at)}>
          Updated {formatRelative(t.updated_at)} · Meta id {t.template_id}
        </Text>
      </Stack>
    </Paper>
  );
}
