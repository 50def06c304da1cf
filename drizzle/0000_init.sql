CREATE TABLE "copy_cursors" (
	"master_account_id" uuid NOT NULL,
	"symbol" text NOT NULL,
	"last_trade_id" text,
	"last_trade_at" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "copy_cursors_master_account_id_symbol_pk" PRIMARY KEY("master_account_id","symbol")
);
--> statement-breakpoint
CREATE TABLE "copy_links" (
	"id" uuid PRIMARY KEY NOT NULL,
	"guild_id" text NOT NULL,
	"master_account_id" uuid NOT NULL,
	"follower_account_id" uuid NOT NULL,
	"follower_owner_id" text NOT NULL,
	"mode" text NOT NULL,
	"value" double precision DEFAULT 1 NOT NULL,
	"symbol_allow" text[] DEFAULT '{}'::text[] NOT NULL,
	"symbol_block" text[] DEFAULT '{}'::text[] NOT NULL,
	"order_types" text[] DEFAULT '{market,limit,stop}'::text[] NOT NULL,
	"dry_run" boolean DEFAULT false NOT NULL,
	"confirm" boolean DEFAULT false NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"copied" integer DEFAULT 0 NOT NULL,
	"skipped" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "copy_masters" (
	"account_id" uuid PRIMARY KEY NOT NULL,
	"guild_id" text NOT NULL,
	"snapshot" jsonb,
	"equity_usd" double precision,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "daily_stats" (
	"account_id" uuid NOT NULL,
	"day" date NOT NULL,
	"trades" integer DEFAULT 0 NOT NULL,
	"realized_pnl" numeric DEFAULT 0 NOT NULL,
	"start_equity" numeric,
	"paused_notified" boolean DEFAULT false NOT NULL,
	CONSTRAINT "daily_stats_account_id_day_pk" PRIMARY KEY("account_id","day")
);
--> statement-breakpoint
CREATE TABLE "exchange_accounts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"owner_id" text NOT NULL,
	"guild_id" text NOT NULL,
	"name" text NOT NULL,
	"exchange_id" text NOT NULL,
	"market_type" text NOT NULL,
	"mode" text NOT NULL,
	"enabled" boolean DEFAULT false NOT NULL,
	"verified" boolean DEFAULT false NOT NULL,
	"verified_at" timestamp with time zone,
	"source" text DEFAULT 'discord' NOT NULL,
	"sizing_mode" text DEFAULT 'fixed' NOT NULL,
	"sizing_value" double precision DEFAULT 100 NOT NULL,
	"max_position_usd" double precision DEFAULT 1000 NOT NULL,
	"leverage" integer DEFAULT 10 NOT NULL,
	"max_daily_trades" integer DEFAULT 5 NOT NULL,
	"risk_per_trade_pct" double precision DEFAULT 2 NOT NULL,
	"max_daily_loss_pct" double precision DEFAULT 5 NOT NULL,
	"stop_on_loss" boolean DEFAULT true NOT NULL,
	"min_notional_policy" text DEFAULT 'skip' NOT NULL,
	"symbol_allow" text[] DEFAULT '{}'::text[] NOT NULL,
	"symbol_block" text[] DEFAULT '{}'::text[] NOT NULL,
	"share_amounts" boolean DEFAULT false NOT NULL,
	"strategy_opt_in" boolean DEFAULT false NOT NULL,
	"take_profit_split" double precision[],
	"break_even_after_tp1" boolean DEFAULT true NOT NULL,
	"withdrawals_confirmed_off" boolean DEFAULT false NOT NULL,
	"api_key_enc" text,
	"secret_enc" text,
	"passphrase_enc" text,
	"vault_key_id" integer,
	"api_key_hint" text,
	"audit" jsonb,
	"audited_at" timestamp with time zone,
	"position_mode" text,
	"margin_mode" text,
	"exchange_max_leverage" integer,
	"paused_until" timestamp with time zone,
	"disabled_reason" text,
	"last_balance_usd" double precision,
	"last_equity_usd" double precision,
	"balance_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "leverage_range" CHECK ("exchange_accounts"."leverage" between 1 and 125),
	CONSTRAINT "max_position_range" CHECK ("exchange_accounts"."max_position_usd" between 10 and 100000),
	CONSTRAINT "max_daily_trades_range" CHECK ("exchange_accounts"."max_daily_trades" between 1 and 50),
	CONSTRAINT "risk_range" CHECK ("exchange_accounts"."risk_per_trade_pct" between 0.1 and 10),
	CONSTRAINT "daily_loss_range" CHECK ("exchange_accounts"."max_daily_loss_pct" between 1 and 20)
);
--> statement-breakpoint
CREATE TABLE "executions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"signal_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"owner_id" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"reason" text,
	"symbol" text,
	"leverage" integer,
	"leverage_capped" boolean DEFAULT false NOT NULL,
	"quantity" numeric,
	"notional" numeric,
	"margin" numeric,
	"notes" text[] DEFAULT '{}'::text[] NOT NULL,
	"claimed_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "feed_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"guild_id" text NOT NULL,
	"kind" text NOT NULL,
	"signal_id" uuid,
	"account_id" uuid,
	"recipient_id" text,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"channel_id" text,
	"message_id" text,
	"last_error" text,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"posted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "guild_settings" (
	"guild_id" text PRIMARY KEY NOT NULL,
	"feed_channel_id" text,
	"signal_channel_id" text,
	"caller_role_id" text,
	"paused" boolean DEFAULT false NOT NULL,
	"copy_masters" text DEFAULT 'off' NOT NULL,
	"copy_master_members" text[] DEFAULT '{}'::text[] NOT NULL,
	"strategy_enabled" boolean DEFAULT false NOT NULL,
	"strategy_watchlist" text[] DEFAULT '{}'::text[] NOT NULL,
	"strategy_timeframe" text DEFAULT '1h' NOT NULL,
	"strategy_last_candle_at" bigint,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "orders" (
	"id" uuid PRIMARY KEY NOT NULL,
	"execution_id" uuid NOT NULL,
	"signal_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"owner_id" text NOT NULL,
	"position_id" uuid,
	"leg" text NOT NULL,
	"client_order_id" text NOT NULL,
	"exchange_order_id" text,
	"symbol" text NOT NULL,
	"side" text NOT NULL,
	"type" text NOT NULL,
	"reduce_only" boolean DEFAULT false NOT NULL,
	"quantity" numeric NOT NULL,
	"price" numeric,
	"trigger_price" numeric,
	"status" text DEFAULT 'intent' NOT NULL,
	"filled_quantity" numeric DEFAULT 0 NOT NULL,
	"average_price" numeric,
	"fee" numeric DEFAULT 0 NOT NULL,
	"fee_currency" text,
	"reason" text,
	"sent_at" bigint,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "paper_state" (
	"account_id" uuid PRIMARY KEY NOT NULL,
	"state" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "positions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"account_id" uuid NOT NULL,
	"owner_id" text NOT NULL,
	"signal_id" uuid NOT NULL,
	"symbol" text NOT NULL,
	"side" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"leverage" integer DEFAULT 1 NOT NULL,
	"quantity" numeric DEFAULT 0 NOT NULL,
	"entry_quantity" numeric DEFAULT 0 NOT NULL,
	"average_entry_price" numeric,
	"exit_quantity" numeric DEFAULT 0 NOT NULL,
	"average_exit_price" numeric,
	"stop_loss" numeric,
	"take_profits" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"take_profits_hit" integer DEFAULT 0 NOT NULL,
	"stop_version" integer DEFAULT 0 NOT NULL,
	"realized_pnl" numeric DEFAULT 0 NOT NULL,
	"fees" numeric DEFAULT 0 NOT NULL,
	"close_reason" text,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"closed_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "signals" (
	"id" uuid PRIMARY KEY NOT NULL,
	"guild_id" text NOT NULL,
	"source" text NOT NULL,
	"source_ref" text NOT NULL,
	"author_id" text,
	"channel_id" text,
	"symbol" text NOT NULL,
	"side" text NOT NULL,
	"entry_type" text NOT NULL,
	"entries" jsonb NOT NULL,
	"stop_loss" numeric NOT NULL,
	"take_profits" jsonb NOT NULL,
	"leverage" integer,
	"copy" jsonb,
	"status" text DEFAULT 'pending' NOT NULL,
	"claimed_by" text,
	"claimed_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"discord_id" text PRIMARY KEY NOT NULL,
	"exposure_cap_usd" double precision,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "copy_cursors" ADD CONSTRAINT "copy_cursors_master_account_id_exchange_accounts_id_fk" FOREIGN KEY ("master_account_id") REFERENCES "public"."exchange_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "copy_links" ADD CONSTRAINT "copy_links_master_account_id_exchange_accounts_id_fk" FOREIGN KEY ("master_account_id") REFERENCES "public"."exchange_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "copy_links" ADD CONSTRAINT "copy_links_follower_account_id_exchange_accounts_id_fk" FOREIGN KEY ("follower_account_id") REFERENCES "public"."exchange_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "copy_masters" ADD CONSTRAINT "copy_masters_account_id_exchange_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."exchange_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "daily_stats" ADD CONSTRAINT "daily_stats_account_id_exchange_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."exchange_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exchange_accounts" ADD CONSTRAINT "exchange_accounts_owner_id_users_discord_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("discord_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "executions" ADD CONSTRAINT "executions_signal_id_signals_id_fk" FOREIGN KEY ("signal_id") REFERENCES "public"."signals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "executions" ADD CONSTRAINT "executions_account_id_exchange_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."exchange_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_execution_id_executions_id_fk" FOREIGN KEY ("execution_id") REFERENCES "public"."executions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "paper_state" ADD CONSTRAINT "paper_state_account_id_exchange_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."exchange_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "positions" ADD CONSTRAINT "positions_account_id_exchange_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."exchange_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "copy_links_master_follower" ON "copy_links" USING btree ("master_account_id","follower_account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "exchange_accounts_guild_owner_name" ON "exchange_accounts" USING btree ("guild_id","owner_id","name");--> statement-breakpoint
CREATE INDEX "exchange_accounts_guild_enabled" ON "exchange_accounts" USING btree ("guild_id","enabled");--> statement-breakpoint
CREATE UNIQUE INDEX "executions_signal_account" ON "executions" USING btree ("signal_id","account_id");--> statement-breakpoint
CREATE INDEX "executions_status" ON "executions" USING btree ("status");--> statement-breakpoint
CREATE INDEX "executions_owner" ON "executions" USING btree ("owner_id","created_at");--> statement-breakpoint
CREATE INDEX "feed_outbox_pending" ON "feed_outbox" USING btree ("status","next_attempt_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "orders_signal_account_leg" ON "orders" USING btree ("signal_id","account_id","leg");--> statement-breakpoint
CREATE UNIQUE INDEX "orders_client_order_id" ON "orders" USING btree ("client_order_id");--> statement-breakpoint
CREATE INDEX "orders_owner_created" ON "orders" USING btree ("owner_id","created_at");--> statement-breakpoint
CREATE INDEX "orders_status" ON "orders" USING btree ("status");--> statement-breakpoint
CREATE INDEX "orders_position" ON "orders" USING btree ("position_id");--> statement-breakpoint
CREATE INDEX "positions_account_status" ON "positions" USING btree ("account_id","status");--> statement-breakpoint
CREATE INDEX "positions_owner" ON "positions" USING btree ("owner_id","closed_at");--> statement-breakpoint
CREATE UNIQUE INDEX "positions_signal_account" ON "positions" USING btree ("signal_id","account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "signals_source_ref" ON "signals" USING btree ("source","source_ref");--> statement-breakpoint
CREATE INDEX "signals_status" ON "signals" USING btree ("status","created_at");