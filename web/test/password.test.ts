// @vitest-environment happy-dom
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as api from '../src/api';
import { ApiError, NetworkError } from '../src/api';
import { newPasswordProblem, passwordChangeProblem, PasswordSection } from '../src/ui/PasswordSection';

describe('newPasswordProblem', () => {
  it.each([
    ['', 'a new passphrase', 'a new passphrase', 'current password'],
    ['old one', '123456789', '123456789', 'at least 10'],
    ['old one', 'éééééééé', 'éééééééé', 'at least 10'],
    ['old one', 'a new passphrase', 'a new passphrase!', 'differ'],
  ])('refuses %j → %j / %j', (current, next, confirm, says) => {
    expect(newPasswordProblem(current, next, confirm)).toContain(says);
  });

  it('counts code points as the server does', () => {
    expect(newPasswordProblem('old one', '🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑', '🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑')).toBeNull();
  });
});

describe('passwordChangeProblem', () => {
  it('names what went wrong', () => {
    expect(passwordChangeProblem(new ApiError(401, 'unauthenticated', 'current_password is wrong', null))).toBe('Your current password is not right.');
    expect(passwordChangeProblem(new ApiError(429, 'rate_limited', 'too many', 600))).toBe('Too many wrong passwords. Try again in 10 minutes.');
    expect(passwordChangeProblem(new ApiError(400, 'invalid', 'new_password must be valid text of 10 to 256 characters', null))).toContain('new_password');
    expect(passwordChangeProblem(new NetworkError())).toContain('reach the server');
    expect(passwordChangeProblem(new ApiError(500, 'internal', 'internal error', null))).toContain('could not be changed');
  });
});

describe('PasswordSection', () => {
  afterEach(() => vi.restoreAllMocks());

  function mount(onOthersLoggedOut = () => {}) {
    const root = document.createElement('div');
    document.body.append(root);
    act(() => render(h(PasswordSection, { onOthersLoggedOut }), root));
    const field = (label: string) => {
      const l = [...root.querySelectorAll('label')].find((x) => x.textContent?.trim() === label);
      const input = (l?.htmlFor ? root.querySelector(`#${l.htmlFor}`) : l?.querySelector('input')) as HTMLInputElement | null;
      if (!input) throw new Error(`no field labelled ${label}`);
      return input;
    };
    const type = (label: string, value: string) =>
      act(() => {
        const input = field(label);
        input.value = value;
        input.dispatchEvent(new Event('input', { bubbles: true }));
      });
    const submit = async () => {
      await act(async () => {
        root.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
      });
    };
    const error = () => root.querySelector('[role="alert"]')!.textContent;
    return { root, field, type, submit, error };
  }

  it('has labelled fields and sends the change with the checkbox', async () => {
    const change = vi.spyOn(api, 'changePassword').mockResolvedValue(undefined);
    const loggedOut = vi.fn();
    const f = mount(loggedOut);
    expect(f.field('Current password').type).toBe('password');
    expect(f.field('New password').autocomplete).toBe('new-password');
    expect(f.field('Log out my other devices').checked).toBe(true);

    f.type('Current password', 'the old passphrase');
    f.type('New password', 'a new passphrase');
    f.type('Confirm new password', 'a new passphrase!');
    await f.submit();
    expect(f.error()).toContain('differ');
    expect(change).not.toHaveBeenCalled();

    f.type('Confirm new password', 'a new passphrase');
    await f.submit();
    expect(change).toHaveBeenCalledWith('the old passphrase', 'a new passphrase', true);
    expect(f.error()).toBe('');
    expect(f.field('Current password').value).toBe('');
    expect(loggedOut).toHaveBeenCalledOnce();
    render(null, f.root);
  });

  it('shows the server’s refusal and keeps what was typed', async () => {
    vi.spyOn(api, 'changePassword').mockRejectedValue(new ApiError(401, 'unauthenticated', 'current_password is wrong', null));
    const f = mount();
    act(() => {
      f.field('Log out my other devices').click();
    });
    f.type('Current password', 'not it at all');
    f.type('New password', 'a new passphrase');
    f.type('Confirm new password', 'a new passphrase');
    await f.submit();
    expect(f.error()).toBe('Your current password is not right.');
    expect(f.field('New password').value).toBe('a new passphrase');
    expect(api.changePassword).toHaveBeenCalledWith('not it at all', 'a new passphrase', false);
    render(null, f.root);
  });
});
