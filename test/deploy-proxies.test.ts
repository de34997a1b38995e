import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { AUTHORIZE_TOKEN_HEADER } from '@tollgate/quota-sidecar';
import { renderRepoTemplate } from '@tollgate/testkit/nginx';

/**
 * The proxy examples in deploy/ against the sidecar: each sends the authorize credential in the
 * field the sidecar reads, to the sidecar only, and passes nothing a client could use to pick
 * its price. nginx runs for real in nginx-auth-request.test.ts; Envoy and Traefik are not on
 * this machine, so their files are checked here as the configuration they are.
 */
const TOKEN = 'rendered-token';
type Obj = Record<string, unknown>;
const at = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Obj)[String(key)] : undefined), value);

describe('proxy examples', () => {
  it('nginx sets the credential in the auth subrequest only', () => {
    const site = renderRepoTemplate('deploy/nginx/tollgate-auth-request.conf', {
      TOLLGATE_LISTEN: '8080',
      TOLLGATE_SIDECAR: 'sidecar:8081',
      TOLLGATE_UPSTREAM: 'api:8443',
      TOLLGATE_AUTHORIZE_TOKEN: TOKEN,
    });
    const authorize = site.slice(site.indexOf('location = /_tollgate/authorize'), site.indexOf('location @tollgate_refused'));
    expect(authorize).toMatch(new RegExp(`proxy_set_header ${AUTHORIZE_TOKEN_HEADER} "${TOKEN}";`, 'i'));
    expect(authorize).toContain('proxy_pass_request_headers off;');
    expect(site.split(TOKEN)).toHaveLength(2);
  });

  it('Envoy adds the credential to the ext_authz request, overriding a client field of that name, and fails closed', () => {
    const rendered = renderRepoTemplate('deploy/envoy/tollgate-ext-authz.yaml', {
      TOLLGATE_LISTEN_PORT: '8080',
      TOLLGATE_SIDECAR_HOST: 'quota-sidecar',
      TOLLGATE_UPSTREAM_HOST: 'open-banking-api',
      TOLLGATE_AUTHORIZE_TOKEN: TOKEN,
    });
    const manager = at(parse(rendered), 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config');
    expect(manager).toMatchObject({ normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'REJECT_REQUEST' });
    const authz = at(manager, 'http_filters', 0, 'typed_config');
    expect(authz).toMatchObject({ failure_mode_allow: false, http_service: { path_prefix: '/v1/authorize' } });
    expect(at(authz, 'http_service', 'authorization_request', 'headers_to_add')).toEqual([{ key: AUTHORIZE_TOKEN_HEADER, value: TOKEN }]);
    const allowed = JSON.stringify(at(authz, 'http_service', 'authorization_request', 'allowed_headers'));
    expect(allowed).not.toMatch(/x-original|x-forwarded/i);
  });

  it('Traefik sets the credential before forwardAuth, passes only listed fields, and strips it before the upstream', () => {
    const doc = parse(readFileSync(new URL('../deploy/traefik/tollgate-forward-auth.yaml', import.meta.url), 'utf8'));
    const chain = at(doc, 'http', 'routers', 'open-banking-api', 'middlewares') as string[];
    expect(chain).toEqual(['tollgate-credential', 'tollgate-authorize', 'tollgate-credential-strip']);
    const middleware = (name: string) => at(doc, 'http', 'middlewares', name);
    const header = Object.keys(at(middleware('tollgate-credential'), 'headers', 'customRequestHeaders') as Obj)[0];
    expect(header?.toLowerCase()).toBe(AUTHORIZE_TOKEN_HEADER);
    expect(at(middleware('tollgate-credential'), 'headers', 'customRequestHeaders', header ?? '')).toBe('{{ env "TOLLGATE_AUTHORIZE_TOKEN" }}');
    expect(at(middleware('tollgate-credential-strip'), 'headers', 'customRequestHeaders', header ?? '')).toBe('');
    const forward = at(middleware('tollgate-authorize'), 'forwardAuth') as Obj;
    expect(forward).toMatchObject({ address: 'http://quota-sidecar:8081/v1/authorize', trustForwardHeader: false });
    const sent = (forward.authRequestHeaders as string[]).map((h) => h.toLowerCase());
    expect(sent).toContain(AUTHORIZE_TOKEN_HEADER);
    expect(sent.filter((h) => h.startsWith('x-original') || h.startsWith('x-forwarded'))).toEqual([]);
  });
});
