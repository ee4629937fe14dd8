// A Cloud API number's message templates: its WhatsApp Business Account, a sync from WhatsApp on
// demand, and each template with its review status and a preview.

import { Alert, Anchor, Badge, Button, Code, Group, Paper, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { IconArrowLeft, IconPencil, IconRefresh, IconSearch, IconTemplate } from '@tabler/icons-react';
import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
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
import i18n from '../i18n';
import { canCarryText, lastSynced, templateCategory, templateReason, templateStatus, templateStatusColor } from '../lib/templates';
import { useApi } from '../lib/useApi';

/** Status changes arrive by webhook; the list follows them at this pace. */
const POLL_MS = 30_000;
type Outcome = { ok: true; count: number; approved: number } | { ok: false; title: string; message: string };

function outcomeOf(e: unknown): Outcome {
  if (!(e instanceof ApiError)) return { ok: false, title: i18n.t('templates.sync.failed'), message: String(e) };
  switch (e.code) {
    case 'no_business_account':
      return { ok: false, title: i18n.t('templates.sync.nameFirst'), message: i18n.t('templates.sync.nameFirstText', { hint: i18n.t('templates.accountHint') }) };
    case 'invalid_field':
      return { ok: false, title: i18n.t('templates.sync.notAnId'), message: i18n.t('templates.sync.notAnIdText') };
    case 'not_cloud_number':
      return { ok: false, title: i18n.t('templates.sync.noTemplates'), message: i18n.t('templates.sync.noTemplatesText') };
    case 'whatsapp_refused':
      return { ok: false, title: i18n.t('templates.sync.refused'), message: e.message };
    default:
      return { ok: false, title: i18n.t('templates.sync.failed'), message: e.message };
  }
}

export function Templates() {
  const { t } = useTranslation();
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
      setAccountError(given ? t('templates.digitsOnly') : t('templates.enterId'));
      return;
    }
    setAccountError(null);
    setSyncing(true);
    setOutcome(null);
    try {
      const res = await api.syncTemplates(id, given || undefined);
      setOutcome({ ok: true, count: res.templates.length, approved: res.templates.filter((x) => x.status === 'APPROVED').length });
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
  const shown = q ? templates.filter((x) => x.name.toLowerCase().includes(q)) : templates;
  const approved = templates.filter((x) => x.status === 'APPROVED').length;

  return (
    <>
      <Anchor component={Link} to="/numbers" size="sm">
        <Group gap={4} mb="xs">
          <IconArrowLeft size={14} /> {t('nav.numbers')}
        </Group>
      </Anchor>
      <PageHeader
        title={t('templates.title')}
        description={phone ? t('templates.descriptionOf', { phone }) : t('templates.description')}
      />
      {gateway ? (
        <Alert color="gray" title={t('templates.gatewayTitle')} data-testid="templates-gateway">
          {t('templates.gatewayText')}
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
                      label={t('templates.accountId')}
                      description={t('templates.accountHint')}
                      placeholder={t('templates.accountPlaceholder')}
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
                        {t('common.cancel')}
                      </Button>
                    )}
                  </Group>
                ) : (
                  <div>
                    <Text size="xs" c="dimmed">
                      {t('templates.account')}
                    </Text>
                    <Group gap="xs">
                      {wabaId ? (
                        <Code fz="sm" data-testid="waba-id">
                          {wabaId}
                        </Code>
                      ) : (
                        <Text size="sm" c="dimmed">
                          {t('templates.notNamed')}
                        </Text>
                      )}
                      {writable && wabaId && (
                        <Anchor component="button" type="button" size="xs" onClick={() => { setAccount(wabaId); setEditing(true); }} data-testid="waba-change">
                          <Group gap={2}>
                            <IconPencil size={12} /> {t('templates.change')}
                          </Group>
                        </Anchor>
                      )}
                    </Group>
                  </div>
                )}
                <Group gap="md" align="flex-end" wrap="nowrap">
                  <div style={{ textAlign: 'right' }}>
                    <Text size="xs" c="dimmed">
                      {t('templates.lastSynced')}
                    </Text>
                    <Text size="sm" title={last ? formatDateTime(last) : undefined} data-testid="last-synced">
                      {last ? formatRelative(last) : t('templates.notYet')}
                    </Text>
                  </div>
                  {writable && (
                    <Button type="submit" loading={syncing} leftSection={<IconRefresh size={16} />} data-testid="sync-templates">
                      {t('templates.syncButton')}
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
                  ? t('templates.synced', { count: outcome.count, approved: outcome.approved })
                  : outcome.message}
              </Alert>
            )}
          </Paper>

          {templates.length === 0 ? (
            <Paper withBorder radius="md">
              <EmptyState
                title={t('templates.none')}
                description={wabaId ? t('templates.noneCreate') : t('templates.noneName')}
                icon={<IconTemplate size={26} />}
              />
            </Paper>
          ) : (
            <>
              <Text size="sm" mb="sm" data-testid="default-template">
                {view?.default_template
                  ? t('templates.crmDefault', { name: view.default_template.name, language: view.default_template.language })
                  : t('templates.crmNone')}
              </Text>
              {defaultError && (
                <Alert color="red" mb="sm" data-testid="default-template-error">
                  {defaultError}
                </Alert>
              )}
              <Group justify="space-between" mb="sm" gap="sm" wrap="wrap">
                <Text size="sm" c="dimmed" data-testid="templates-count">
                  {t('templates.count', { count: templates.length, approved })}
                </Text>
                <TextInput
                  placeholder={t('templates.filter')}
                  leftSection={<IconSearch size={16} />}
                  value={filter}
                  onChange={(ev) => setFilter(ev.currentTarget.value)}
                  style={{ flex: 1, minWidth: 200, maxWidth: 320 }}
                  data-testid="templates-filter"
                />
              </Group>
              {shown.length === 0 ? (
                <EmptyState title={t('templates.noMatch')} description={t('templates.noMatchHint')} icon={<IconSearch size={26} />} />
              ) : (
                <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md" data-testid="templates">
                  {shown.map((x) => (
                    <TemplateCard
                      key={x.id}
                      tpl={x}
                      isDefault={view?.default_template?.name === x.name && view?.default_template?.language === x.language}
                      onDefault={writable && canCarryText(x) ? setDefault : undefined}
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
  tpl,
  isDefault,
  onDefault,
}: {
  tpl: TemplateView;
  isDefault: boolean;
  /** Set (or clear) this template as the default for CRM messages, when the caller may. */
  onDefault?: (template: TemplateRef | null) => void;
}) {
  const { t } = useTranslation();
  // Meta says `NONE` when a status change has no reason.
  const reason = tpl.reason && tpl.reason.toUpperCase() !== 'NONE' ? tpl.reason : null;
  return (
    <Paper withBorder radius="md" p="md" data-testid="template" data-name={tpl.name} data-status={tpl.status}>
      <Stack gap="sm" h="100%">
        <Group justify="space-between" align="flex-start" wrap="nowrap" gap="sm">
          <div style={{ minWidth: 0 }}>
            <Text fw={600} ff="monospace" size="sm" truncate title={tpl.name}>
              {tpl.name}
            </Text>
            <Group gap={6} mt={2}>
              <Badge variant="outline" color="gray" size="sm" radius="sm" tt="none">
                {tpl.language}
              </Badge>
              <Text size="xs" c="dimmed">
                {templateCategory(tpl.category)}
                {tpl.parameter_format === 'NAMED' ? ` · ${t('templates.namedVariables')}` : ''}
              </Text>
            </Group>
          </div>
          <Badge color={templateStatusColor(tpl.status)} variant="light" data-testid="template-status" data-status={tpl.status} style={{ flexShrink: 0 }}>
            {templateStatus(tpl.status)}
          </Badge>
        </Group>
        {reason && (
          <Text size="xs" c={templateStatusColor(tpl.status) === 'red' ? 'red.7' : 'dimmed'} data-testid="template-reason">
            {t('templates.reasonIs', { reason: templateReason(reason) })}
          </Text>
        )}
        <TemplatePreview components={Array.isArray(tpl.components) ? tpl.components : []} />
        {(isDefault || onDefault) && (
          <Group gap="xs">
            {isDefault && (
              <Badge color="teal" variant="light" data-testid="template-default">
                {t('templates.forCrm')}
              </Badge>
            )}
            {onDefault && (
              <Button
                size="compact-xs"
                variant="subtle"
                data-testid="template-set-default"
                onClick={() => onDefault(isDefault ? null : { name: tpl.name, language: tpl.language })}
              >
                {isDefault ? t('templates.stopCrm') : t('templates.useCrm')}
              </Button>
            )}
          </Group>
        )}
        <Text size="xs" c="dimmed" mt="auto" title={formatDateTime(tpl.updated_at)}>
          {t('templates.updated', { when: formatRelative(tpl.updated_at), id: tpl.template_id })}
        </Text>
      </Stack>
    </Paper>
  );
}
