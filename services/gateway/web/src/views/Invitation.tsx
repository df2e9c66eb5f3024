import { useState } from "react";
import { api, data, login, projectsChanged, signup } from "../api/client";
import { navigate, useLocation } from "../router";
import { AuthForm, Credentials } from "./Login";

/**
 * Invitation is where an invitation link leads (/invitations/accept?token=):
 * a new person creates their account with it; someone who already has one
 * signs in and accepts it, joining the organization. The token is sent to
 * the gateway only, and the page leaves its URL once it is used.
 */
export function Invitation({ signedIn }: { signedIn: boolean }) {
  const token = useLocation().query.get("token") ?? "";
  const [existing, setExisting] = useState(false);
  const joined = () => {
    projectsChanged();
    navigate("/traces", true);
  };
  const accept = async () => {
    await data(() => api.POST("/api/v1/invitations/accept", { body: { token } }));
    joined();
  };
  if (!token) {
    return (
      <main className="login">
        <p className="error">This invitation link has no token; ask for a new one.</p>
      </main>
    );
  }
  if (signedIn) {
    return (
      <main className="login">
        <AuthForm label="Accept invitation" busyLabel="Joining…" submit={accept}>
          <h1>Join the organization</h1>
          <p className="muted">You were invited to an organization on this AgentTrace.</p>
        </AuthForm>
      </main>
    );
  }
  return <main className="login">{existing ? <SignInToAccept accept={accept} onBack={() => setExisting(false)} /> : <NewAccount token={token} onJoined={joined} onExisting={() => setExisting(true)} />}</main>;
}

function NewAccount({ token, onJoined, onExisting }: { token: string; onJoined: () => void; onExisting: () => void }) {
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const submit = async () => {
    await signup({ email, password, name, invitationToken: token });
    onJoined();
  };
  return (
    <AuthForm label="Create account and join" busyLabel="Creating…" submit={submit}>
      <h1>You are invited</h1>
      <p className="muted">Create your account with the email address the invitation was sent to.</p>
      <label>
        Name
        <input autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <Credentials email={email} password={password} onEmail={setEmail} onPassword={setPassword} fresh />
      <button type="button" className="link" onClick={onExisting}>
        Already have an account? Sign in to accept
      </button>
    </AuthForm>
  );
}

function SignInToAccept({ accept, onBack }: { accept: () => Promise<void>; onBack: () => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const submit = async () => {
    await login(email, password);
    await accept();
  };
  return (
    <AuthForm label="Sign in and accept" busyLabel="Joining…" submit={submit}>
      <h1>Accept the invitation</h1>
      <Credentials email={email} password={password} onEmail={setEmail} onPassword={setPassword} />
      <button type="button" className="link" onClick={onBack}>
        New here? Create an account
      </button>
    </AuthForm>
  );
}
