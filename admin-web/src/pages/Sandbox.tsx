// The sandbox (`b24wa sandbox`, no login): a simulated customer's WhatsApp next to a simulated
// Bitrix24 operator's Open Lines chat, and what travelled between them, for either of two numbers:
// a Web gateway one and a Cloud API one (where the 24-hour window and templates apply). Everything
// it shows comes from the simulators the service really talks to; the page polls them every second.

import {
  ActionIcon,
  Alert,
  Anchor,
  Avatar,
  Badge,
  Box,
  Button,
  Center,
  Code,
  Container,
  Grid,
  Group,
  Loader,
  Menu,
  Modal,
  Paper,
  ScrollArea,
  SegmentedControl,
  Stack,
  Text,
  Textarea,
  TextInput,
  ThemeIcon,
  Title,
  Tooltip,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import {
  IconArrowBackUp,
  IconArrowRight,
  IconBan,
  IconBrandWhatsapp,
  IconDotsVertical,
  IconFlask,
  IconMicrophone,
  IconPencil,
  IconSend,
  IconTrash,
  IconUserCircle,
} from '@tabler/icons-react';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { Ticks } from '../components/Ticks';
import {
  consoleTicks,
  dayTime,
  freshEntries,
  phoneTicks,
  SandboxError,
  sandboxApi,
  whatsappSpans,
  type ConsoleMessage,
  type NumberKey,
  type PhoneMessage,
  type SandboxState,
  type TraceEntry,
} from '../lib/sandbox';
import { PANE_HEIGHT, Trace } from '../components/sandbox/Trace';
import i18n from '../i18n';
import { kindLabel } from '../lib/messages';
import { WindowCard } from '../components/sandbox/WindowCard';

const POLL_MS = 1000;
const WA = { header: '#075e54', wallpaper: '#efeae2', mine: '#d9fdd3', theirs: '#ffffff' };
const B24 = { header: '#2fc6f6', bg: '#eef2f4', mine: '#e5f7d6', theirs: '#ffffff' };

function useSandbox(number: NumberKey) {
  const [state, setState] = useState<SandboxState | null>(null);
  const [error, setError] = useState<SandboxError | null>(null);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const last = useRef<TraceEntry[] | null>(null);
  const refresh = useCallback(async () => {
    try {
      const s = await sandboxApi.state(number);
      // A poll for the other number, answered after a switch, is dropped.
      if (s.number !== number) return;
      if (last.current) setFresh(freshEntries(last.current, s.trace));
      last.current = s.trace;
      setState(s);
      setError(null);
    } catch (e) {
      setError(e instanceof SandboxError ? e : new SandboxError(0, 'error', String(e)));
    }
  }, [number]);
  useEffect(() => {
    last.current = null;
    void refresh();
    const t = window.setInterval(() => void refresh(), POLL_MS);
    return () => window.clearInterval(t);
  }, [refresh]);
  // What the other number showed stays until this one's first answer: never mix the two.
  const current = state?.number === number ? state : null;
  return { state: current, error, fresh, refresh };
}

/** The number in the address (`?number=cloud`), so a reload or a link keeps it. */
function useNumber(): [NumberKey, (n: NumberKey) => void] {
  const initial: NumberKey = new URLSearchParams(window.location.search).get('number') === 'cloud' ? 'cloud' : 'gateway';
  const [number, setNumber] = useState<NumberKey>(initial);
  const choose = useCallback((n: NumberKey) => {
    const url = new URL(window.location.href);
    if (n === 'cloud') url.searchParams.set('number', 'cloud');
    else url.searchParams.delete('number');
    window.history.replaceState(null, '', url);
    setNumber(n);
  }, []);
  return [number, choose];
}

/** Runs a sandbox action, says what went wrong in a notification, refreshes at once. */
function useAction(refresh: () => Promise<void>) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState<string | null>(null);
  const run = useCallback(
    async (name: string, action: () => Promise<unknown>) => {
      setBusy(name);
      try {
        await action();
        return true;
      } catch (e) {
        notifications.show({ color: 'red', title: t('sandbox.actionFailed'), message: e instanceof Error ? e.message : String(e) });
        return false;
      } finally {
        setBusy(null);
        void refresh();
      }
    },
    [refresh, t],
  );
  return { busy, run };
}

export function Sandbox() {
  const { t } = useTranslation();
  const [number, setNumber] = useNumber();
  const { state, error, fresh, refresh } = useSandbox(number);
  const { busy, run } = useAction(refresh);
  // The operator's draft, so a template can be put there from the window card.
  const [draft, setDraft] = useState('');
  const choose = (n: NumberKey) => {
    setDraft('');
    setNumber(n);
  };

  return (
    <Box bg="gray.0" mih="100vh" py={{ base: 'md', md: 'xl' }}>
      <Container size="xl" px={{ base: 'xs', sm: 'md' }}>
        <Stack gap="lg">
          <Intro state={state} number={number} onNumber={choose} />
          {state && state.number === 'cloud' && <WindowCard state={state} busy={busy} run={run} onTemplate={setDraft} />}
          {error && !state && <NotRunning error={error} />}
          {error && state && (
            <Alert color="orange" title={t('sandbox.lost')}>
              {error.message}
            </Alert>
          )}
          {!state && !error && (
            <Center py={80}>
              <Loader />
            </Center>
          )}
          {state && (
            <Grid gap="lg" align="stretch">
              <Grid.Col span={{ base: 12, sm: 6, lg: 4 }}>
                <Phone state={state} busy={busy} run={run} />
              </Grid.Col>
              <Grid.Col span={{ base: 12, sm: 6, lg: 5 }}>
                <Console state={state} busy={busy} run={run} text={draft} setText={setDraft} />
              </Grid.Col>
              <Grid.Col span={{ base: 12, lg: 3 }}>
                <Trace entries={state.trace} fresh={fresh} />
              </Grid.Col>
            </Grid>
          )}
        </Stack>
      </Container>
    </Box>
  );
}

/** The steps to try on each number, in the language spoken when drawn. */
function steps(number: NumberKey): string[] {
  return number === 'cloud'
    ? [i18n.t('sandbox.steps.write'), i18n.t('sandbox.steps.age'), i18n.t('sandbox.steps.heldBack'), i18n.t('sandbox.steps.template'), i18n.t('sandbox.steps.tap')]
    : [i18n.t('sandbox.steps.write'), i18n.t('sandbox.steps.answer'), i18n.t('sandbox.steps.edit'), i18n.t('sandbox.steps.voice')];
}

function Intro({ state, number, onNumber }: { state: SandboxState | null; number: NumberKey; onNumber: (n: NumberKey) => void }) {
  const { t } = useTranslation();
  const list = steps(number);
  const cloud = number === 'cloud';
  return (
    <Paper withBorder radius="lg" p={{ base: 'md', md: 'lg' }} shadow="xs">
      <Group justify="space-between" align="flex-start" wrap="wrap" gap="md">
        <Group gap="md" wrap="nowrap" align="flex-start">
          <ThemeIcon size={44} radius="md" variant="light">
            <IconFlask size={26} />
          </ThemeIcon>
          <div>
            <Title order={2} fz={{ base: 22, md: 26 }}>
              {t('sandbox.title')}
            </Title>
            <Text c="dimmed" maw={640}>
              {t('sandbox.intro')}
            </Text>
          </div>
        </Group>
        <Group gap="xs">
          {state && (
            <Badge variant="light" color="green" leftSection={<IconBrandWhatsapp size={14} />}>
              {cloud ? t('sandbox.onCloud', { phone: `+${state.phone.business.phone}` }) : t('sandbox.linked', { phone: `+${state.phone.business.phone}` })}
            </Badge>
          )}
          {state && !cloud && (
            <Tooltip label={state.setup.transcription ? t('sandbox.transcriptsOnHint') : t('sandbox.transcriptsOffHint')}>
              <Badge variant="light" color={state.setup.transcription ? 'teal' : 'gray'} leftSection={<IconMicrophone size={14} />}>
                {state.setup.transcription ? t('sandbox.transcriptsOn') : t('sandbox.transcriptsOff')}
              </Badge>
            </Tooltip>
          )}
          <LanguageSwitch />
        </Group>
      </Group>
      <Group gap="sm" mt="md" wrap="wrap" align="center">
        <Text size="sm" fw={600}>
          {t('sandbox.number')}
        </Text>
        <SegmentedControl
          value={number}
          onChange={(v) => onNumber(v === 'cloud' ? 'cloud' : 'gateway')}
          data={[
            { value: 'gateway', label: state?.setup.gateway === 'evolution' ? t('sandbox.evolutionNumber') : t('sandbox.gatewayNumber') },
            { value: 'cloud', label: t('sandbox.cloudNumber') },
          ]}
          data-testid="number-switch"
        />
        <Text size="xs" c="dimmed" maw={420}>
          {cloud ? t('sandbox.cloudHint') : t('sandbox.gatewayHint')}
        </Text>
      </Group>
      <Group gap="xs" mt="md" wrap="wrap">
        {list.map((s, i) => (
          <Group key={s} gap={6} wrap="nowrap">
            <Badge circle size="lg" variant="filled">
              {i + 1}
            </Badge>
            <Text size="sm">{s}</Text>
            {i < list.length - 1 && <IconArrowRight size={14} color="var(--mantine-color-gray-5)" />}
          </Group>
        ))}
      </Group>
    </Paper>
  );
}

function NotRunning({ error }: { error: SandboxError }) {
  const { t } = useTranslation();
  return (
    <Alert color="gray" title={t('sandbox.notRunning')} data-testid="sandbox-not-running">
      <Text size="sm">
        <Trans i18nKey="sandbox.notRunningText" components={{ code: <Code /> }} />
      </Text>
      <Text size="xs" c="dimmed" mt={4}>
        ({error.status ? `${error.status} ` : ''}
        {error.message})
      </Text>
    </Alert>
  );
}

type ActionProps = { state: SandboxState; busy: string | null; run: (name: string, action: () => Promise<unknown>) => Promise<boolean> };

/** Keeps a chat scrolled to its newest message while new ones arrive. */
function useStickToBottom(count: number) {
  const viewport = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = viewport.current;
    if (el) el.scrollTo({ top: el.scrollHeight });
  }, [count]);
  return viewport;
}

function Pane({ header, bg, children, footer, testId }: { header: ReactNode; bg: string; children: ReactNode; footer: ReactNode; testId: string }) {
  return (
    <Paper withBorder radius="lg" shadow="sm" style={{ overflow: 'hidden', display: 'flex', flexDirection: 'column' }} h="100%" data-testid={testId}>
      {header}
      <Box bg={bg} style={{ flex: 1 }}>
        {children}
      </Box>
      <Box p="xs" bg="white" style={{ borderTop: '1px solid var(--mantine-color-gray-3)' }}>
        {footer}
      </Box>
    </Paper>
  );
}

function WhatsAppText({ text }: { text: string }) {
  return (
    <Text size="sm" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
      {whatsappSpans(text).map((s, i) => (
        <span key={i} style={{ fontWeight: s.bold ? 700 : undefined, fontStyle: s.italic ? 'italic' : undefined, textDecoration: s.strike ? 'line-through' : undefined }}>
          {s.text}
        </span>
      ))}
    </Text>
  );
}

function Deleted({ who }: { who: string }) {
  return (
    <Group gap={6} c="dimmed" wrap="nowrap">
      <IconBan size={15} />
      <Text size="sm" fs="italic">
        {who}
      </Text>
    </Group>
  );
}

function Phone({ state, busy, run }: ActionProps) {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const messages = state.phone.messages;
  const viewport = useStickToBottom(messages.length);
  const send = async () => {
    if (!text.trim()) return;
    if (await run('phone-send', () => sandboxApi.customerWrites(text, state.number))) setText('');
  };
  const header = (
    <Group bg={WA.header} c="white" px="md" py="sm" gap="sm" wrap="nowrap">
      <Avatar color="green" radius="xl" size="md" variant="filled">
        <IconBrandWhatsapp size={20} />
      </Avatar>
      <div style={{ minWidth: 0 }}>
        <Text fw={600} size="sm" truncate>
          {state.phone.business.name}
        </Text>
        <Text size="xs" opacity={0.8}>
          +{state.phone.business.phone} · {t('sandbox.phone.whatsappOf', { name: state.phone.customer.name })}
        </Text>
      </div>
    </Group>
  );
  const footer = (
    <Group gap={6} wrap="nowrap">
      <TextInput
        style={{ flex: 1 }}
        radius="xl"
        placeholder={t('sandbox.phone.placeholder')}
        aria-label={t('sandbox.phone.label')}
        value={text}
        onChange={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') void send();
        }}
        data-testid="phone-input"
      />
      {state.number === 'gateway' && (
        <Tooltip label={state.setup.transcription ? t('sandbox.phone.voiceHint', { text: state.setup.voice_sample_text }) : t('sandbox.phone.voiceHintNoModel')} multiline w={260}>
          <ActionIcon size="lg" radius="xl" variant="light" color="green" aria-label={t('sandbox.phone.voice')} loading={busy === 'phone-voice'} onClick={() => void run('phone-voice', sandboxApi.customerVoice)} data-testid="phone-voice">
            <IconMicrophone size={18} />
          </ActionIcon>
        </Tooltip>
      )}
      <ActionIcon size="lg" radius="xl" color="green" aria-label={t('sandbox.send')} loading={busy === 'phone-send'} disabled={!text.trim()} onClick={() => void send()} data-testid="phone-send">
        <IconSend size={18} />
      </ActionIcon>
    </Group>
  );
  return (
    <Pane header={header} bg={WA.wallpaper} footer={footer} testId="phone">
      <ScrollArea h={PANE_HEIGHT} viewportRef={viewport} px="sm" py="sm">
        {messages.length === 0 ? (
          <Center h={200}>
            <Text size="sm" c="dimmed" ta="center" maw={240}>
              {t('sandbox.phone.empty')}
            </Text>
          </Center>
        ) : (
          <Stack gap={6}>
            {messages.map((m) => (
              <PhoneBubble key={m.id} m={m} busy={busy} run={run} canDelete={state.number === 'gateway'} />
            ))}
          </Stack>
        )}
      </ScrollArea>
    </Pane>
  );
}

function PhoneBubble({ m, busy, run, canDelete }: { m: PhoneMessage; busy: string | null; run: ActionProps['run']; canDelete: boolean }) {
  const { t } = useTranslation();
  const mine = m.from === 'customer';
  return (
    <Group justify={mine ? 'flex-end' : 'flex-start'} wrap="nowrap" data-testid="phone-message" data-from={m.from} data-kind={m.kind} data-ticks={m.ticks ?? ''} data-deleted={m.deleted}>
      <Paper px="sm" py={6} radius="md" shadow="xs" bg={mine ? WA.mine : WA.theirs} maw="85%" style={{ minWidth: 90 }}>
        {m.deleted ? (
          <Deleted who={mine ? t('sandbox.phone.youDeleted') : t('sandbox.phone.deleted')} />
        ) : m.kind === 'voice' ? (
          <VoiceNote />
        ) : m.kind === 'button' ? (
          <Group gap={6} wrap="nowrap">
            <IconArrowBackUp size={14} color="var(--mantine-color-green-8)" aria-label={t('sandbox.phone.tapped')} />
            <WhatsAppText text={m.text} />
          </Group>
        ) : (
          <WhatsAppText text={m.text || `(${kindLabel(m.kind)})`} />
        )}
        <Group gap={4} justify="flex-end" mt={2} wrap="nowrap">
          {m.edited && !m.deleted && (
            <Text size="xs" c="dimmed">
              {t('sandbox.edited')}
            </Text>
          )}
          <Text size="xs" c="dimmed">
            {dayTime(m.at_ms, Date.now())}
          </Text>
          {mine && <Ticks message={phoneTicks(m)} size={15} />}
          {mine && canDelete && !m.deleted && (
            <Menu position="bottom-end" withinPortal>
              <Menu.Target>
                <ActionIcon size="xs" variant="subtle" color="gray" aria-label={t('sandbox.actions')}>
                  <IconDotsVertical size={12} />
                </ActionIcon>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Item color="red" leftSection={<IconTrash size={14} />} disabled={busy !== null} onClick={() => void run('phone-delete', () => sandboxApi.customerDeletes(m.id))}>
                  {t('sandbox.phone.deleteForEveryone')}
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
          )}
        </Group>
        {m.buttons.length > 0 && (
          <Stack gap={0} mt={6} mx={-12} mb={-6} style={{ borderTop: '1px solid var(--mantine-color-gray-3)' }}>
            {m.buttons.map((b, i) => (
              <Button
                key={b}
                variant="subtle"
                color="cyan.8"
                radius={0}
                size="compact-sm"
                h={34}
                leftSection={<IconArrowBackUp size={14} />}
                style={i > 0 ? { borderTop: '1px solid var(--mantine-color-gray-3)' } : undefined}
                disabled={busy !== null}
                onClick={() => void run('phone-tap', () => sandboxApi.customerTaps(m.id, b))}
                data-testid="quick-reply"
              >
                {b}
              </Button>
            ))}
          </Stack>
        )}
      </Paper>
    </Group>
  );
}

function VoiceNote() {
  const { t } = useTranslation();
  return (
    <Stack gap={2}>
      <Group gap={4} c="green.8">
        <IconMicrophone size={14} />
        <Text size="xs" fw={600}>
          {t('sandbox.phone.voiceMessage')}
        </Text>
      </Group>
      <audio controls preload="metadata" src="/sandbox/api/voice-sample.ogg" style={{ height: 32, width: 220, maxWidth: '100%' }} aria-label={t('sandbox.phone.voiceNote')} />
    </Stack>
  );
}

function Console({ state, busy, run, text, setText }: ActionProps & { text: string; setText: (text: string) => void }) {
  const { t } = useTranslation();
  const [editing, setEditing] = useState<ConsoleMessage | null>(null);
  const messages = state.console.messages;
  const viewport = useStickToBottom(messages.length);
  const hasChat = messages.some((m) => m.from === 'customer');
  const send = async () => {
    if (!text.trim()) return;
    if (await run('console-send', () => sandboxApi.operatorWrites(text, state.number))) setText('');
  };
  const header = (
    <Group bg={B24.header} c="white" px="md" py="sm" gap="sm" wrap="nowrap" justify="space-between">
      <Group gap="sm" wrap="nowrap" style={{ minWidth: 0 }}>
        <Avatar color="white" radius="xl" size="md" variant="outline">
          {initials(state.console.customer.name)}
        </Avatar>
        <div style={{ minWidth: 0 }}>
          <Text fw={600} size="sm" truncate>
            {state.console.customer.name} · WhatsApp
          </Text>
          <Text size="xs" opacity={0.9}>
            {t('sandbox.console.line', { line: state.console.line })}
          </Text>
        </div>
      </Group>
      <Group gap={4} wrap="nowrap">
        <IconUserCircle size={18} />
        <Text size="xs" visibleFrom="xs">
          {state.console.operator}
        </Text>
      </Group>
    </Group>
  );
  const footer = (
    <Group gap={6} wrap="nowrap" align="flex-end">
      <Textarea
        style={{ flex: 1 }}
        autosize
        minRows={1}
        maxRows={4}
        placeholder={hasChat ? (state.number === 'cloud' ? t('sandbox.console.placeholderCloud') : t('sandbox.console.placeholder')) : t('sandbox.console.placeholderNoChat')}
        aria-label={t('sandbox.console.label')}
        disabled={!hasChat}
        value={text}
        onChange={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            void send();
          }
        }}
        data-testid="console-input"
      />
      <Button leftSection={<IconSend size={16} />} color="cyan" loading={busy === 'console-send'} disabled={!hasChat || !text.trim()} onClick={() => void send()} data-testid="console-send">
        {t('sandbox.send')}
      </Button>
    </Group>
  );
  return (
    <Pane header={header} bg={B24.bg} footer={footer} testId="console">
      <ScrollArea h={PANE_HEIGHT} viewportRef={viewport} px="sm" py="sm">
        {messages.length === 0 ? (
          <Center h={200}>
            <Text size="sm" c="dimmed" ta="center" maw={260}>
              {t('sandbox.console.empty')}
            </Text>
          </Center>
        ) : (
          <Stack gap={8}>
            {messages.map((m) => (
              <ConsoleBubble key={m.id} m={m} state={state} busy={busy} run={run} onEdit={() => setEditing(m)} />
            ))}
          </Stack>
        )}
      </ScrollArea>
      <EditModal message={editing} number={state.number} onClose={() => setEditing(null)} busy={busy} run={run} />
    </Pane>
  );
}

function initials(name: string) {
  return name
    .split(/\s+/)
    .map((w) => w[0] ?? '')
    .join('')
    .slice(0, 2)
    .toUpperCase();
}

function ConsoleBubble({ m, state, busy, run, onEdit }: { m: ConsoleMessage; state: SandboxState; busy: string | null; run: ActionProps['run']; onEdit: () => void }) {
  const { t } = useTranslation();
  if (m.from === 'system') {
    return (
      <Center data-testid="console-message" data-from="system">
        <Paper px="sm" py={4} radius="xl" bg="gray.2" maw="90%">
          <Text size="xs" c="dark.4" ta="center" style={{ whiteSpace: 'pre-wrap' }}>
            {m.text}
          </Text>
        </Paper>
      </Center>
    );
  }
  const mine = m.from === 'operator';
  return (
    <Group justify={mine ? 'flex-end' : 'flex-start'} wrap="nowrap" data-testid="console-message" data-from={m.from} data-state={m.state ?? ''} data-deleted={m.deleted}>
      <Paper px="sm" py={6} radius="md" shadow="xs" bg={mine ? B24.mine : B24.theirs} maw="85%" style={{ minWidth: 120 }}>
        <Text size="xs" fw={600} c={mine ? 'teal.8' : 'cyan.8'}>
          {mine ? state.console.operator : state.console.customer.name}
        </Text>
        {m.deleted ? (
          <Deleted who={t('sandbox.console.deleted')} />
        ) : (
          <>
            {m.text && (
              <Text size="sm" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
                {m.text}
              </Text>
            )}
            {m.files.map((f) =>
              f.kind === 'audio' ? (
                <audio key={f.url} controls preload="metadata" src={f.url} style={{ height: 32, width: 240, maxWidth: '100%', display: 'block', marginTop: 4 }} aria-label={f.name} />
              ) : (
                <Anchor key={f.url} href={f.url} target="_blank" size="sm" display="block">
                  {f.name}
                </Anchor>
              ),
            )}
            {m.transcript !== null && (
              <Group gap={6} mt={4} wrap="nowrap" align="flex-start" data-testid="transcript">
                <IconMicrophone size={14} style={{ marginTop: 3, flexShrink: 0 }} color="var(--mantine-color-teal-7)" />
                <Text size="sm" fs="italic" c="dark.5">
                  {m.transcript}
                </Text>
              </Group>
            )}
            {m.files.some((f) => f.kind === 'audio') && m.transcript === null && (
              <Text size="xs" c="dimmed" mt={4}>
                {state.setup.transcription ? t('sandbox.console.transcribing') : t('sandbox.console.noTranscript')}
              </Text>
            )}
          </>
        )}
        {mine && (
          <Group gap={4} justify="flex-end" mt={2} wrap="nowrap">
            {m.state === 'failed' && (
              <Text size="xs" c="red.7" data-testid="not-sent">
                {t('sandbox.console.notSent')}
              </Text>
            )}
            <Ticks message={consoleTicks(m)} size={15} />
            {!m.deleted && m.state !== 'failed' && (
              <Menu position="bottom-end" withinPortal>
                <Menu.Target>
                  <ActionIcon size="xs" variant="subtle" color="gray" aria-label={t('sandbox.actions')} data-testid="console-actions">
                    <IconDotsVertical size={12} />
                  </ActionIcon>
                </Menu.Target>
                <Menu.Dropdown>
                  <Menu.Item leftSection={<IconPencil size={14} />} disabled={busy !== null} onClick={onEdit} data-testid="console-edit">
                    {t('sandbox.console.edit')}
                  </Menu.Item>
                  <Menu.Item color="red" leftSection={<IconTrash size={14} />} disabled={busy !== null} onClick={() => void run('console-delete', () => sandboxApi.operatorDeletes(m.id, state.number))} data-testid="console-delete">
                    {t('sandbox.console.delete')}
                  </Menu.Item>
                </Menu.Dropdown>
              </Menu>
            )}
          </Group>
        )}
      </Paper>
    </Group>
  );
}

function EditModal({ message, number, onClose, busy, run }: { message: ConsoleMessage | null; number: NumberKey; onClose: () => void; busy: string | null; run: ActionProps['run'] }) {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  useEffect(() => setText(message?.text ?? ''), [message]);
  return (
    <Modal opened={message !== null} onClose={onClose} title={t('sandbox.editor.title')} centered>
      <Stack>
        <Textarea autosize minRows={2} value={text} onChange={(e) => setText(e.currentTarget.value)} aria-label={t('sandbox.editor.label')} data-testid="edit-text" />
        <Text size="xs" c="dimmed">
          {number === 'gateway' ? t('sandbox.editor.gatewayHint') : t('sandbox.editor.cloudHint')}
        </Text>
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            {t('common.cancel')}
          </Button>
          <Button
            data-testid="edit-save"
            loading={busy === 'console-edit'}
            disabled={!text.trim()}
            onClick={async () => {
              if (message && (await run('console-edit', () => sandboxApi.operatorEdits(message.id, text, number)))) onClose();
            }}
          >
            {t('common.save')}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
